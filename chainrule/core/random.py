"""Seeded randomness: a ``Generator`` object and a default one behind ``manual_seed``.

Every random draw in chainrule (rand, randn, dropout, shuffling, initialization)
comes from a Generator, so one seed fixes a whole run. A generator's state can be
saved and restored as plain JSON-able data, which is what checkpoints use to make
a resumed run continue bitwise. The bits come from NumPy's PCG64.
"""
import numpy


class Generator:
    """A source of random numbers with its own seed and state.

    Example:
        >>> import chainrule as cr
        >>> g = cr.Generator().manual_seed(0)
        >>> a = cr.rand(3, generator=g)
        >>> _ = g.manual_seed(0); b = cr.rand(3, generator=g)
        >>> bool((a == b).all())
        True
    """

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 0
        self._rng = numpy.random.Generator(numpy.random.PCG64(0))

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns the generator."""
        self._seed = int(seed)
        self._rng = numpy.random.Generator(numpy.random.PCG64(self._seed))
        return self

    def seed(self):
        """Seed from the operating system's entropy and return the seed used."""
        self.manual_seed(int(numpy.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The full state as a JSON-able dict (what checkpoints store)."""
        return {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, state):
        """Restore a state from ``get_state``: the stream continues exactly from there."""
        self._seed = int(state["seed"])
        bit_generator = numpy.random.PCG64()
        bit_generator.state = state["bit_generator"]
        self._rng = numpy.random.Generator(bit_generator)
        return self

    # The draws are made on the host with NumPy, then moved to ``xp`` (so a GPU run
    # draws the same numbers as a CPU run with the same seed).
    def uniform(self, shape, low, high, dtype, xp=numpy):
        return xp.asarray(self._rng.uniform(low, high, size=shape).astype(dtype, copy=False))

    def normal(self, shape, mean, std, dtype, xp=numpy):
        return xp.asarray((self._rng.standard_normal(size=shape) * std + mean).astype(dtype, copy=False))

    def integers(self, low, high, shape, dtype, xp=numpy):
        return xp.asarray(self._rng.integers(low, high, size=shape).astype(dtype, copy=False))

    def permutation(self, n, xp=numpy):
        return xp.asarray(self._rng.permutation(n))

    def bernoulli(self, shape, p, dtype, xp=numpy):
        return xp.asarray((self._rng.random(size=shape) < p).astype(dtype, copy=False))

    @property
    def numpy_generator(self):
        """The underlying ``numpy.random.Generator`` (for code that needs more distributions)."""
        return self._rng


_default = Generator().manual_seed(0)


def default_generator():
    """The generator used when no ``generator=`` is given (the one ``manual_seed`` seeds).

    Example:
        >>> import chainrule as cr
        >>> g = cr.default_generator()
        >>> isinstance(g, cr.Generator), g is cr.default_generator()
        (True, True)
        >>> _ = cr.manual_seed(3); g.initial_seed()
        3
    """
    return _default


def manual_seed(seed):
    """Seed the default generator: the same seed gives the same run.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(42); a = cr.randn(2)
        >>> _ = cr.manual_seed(42); b = cr.randn(2)
        >>> bool((a == b).all())
        True
    """
    return _default.manual_seed(seed)


def seed():
    """Seed the default generator from the operating system's entropy; returns the seed used.

    Example:
        >>> import chainrule as cr
        >>> s = cr.seed()
        >>> s == cr.initial_seed(), 0 <= s < 2**63
        (True, True)
        >>> _ = cr.manual_seed(0)        # back to a reproducible stream
    """
    return _default.seed()


def initial_seed():
    """The seed the default generator was last seeded with (by ``manual_seed`` or ``seed``).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(42)
        >>> cr.initial_seed()
        42
    """
    return _default.initial_seed()


def get_rng_state():
    """The default generator's state (JSON-able): its seed and the PCG64 bit generator's state.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(7)
        >>> state = cr.get_rng_state()
        >>> sorted(state), state["seed"]
        (['bit_generator', 'seed'], 7)
    """
    return _default.get_state()


def set_rng_state(state):
    """Restore the default generator's state (from ``get_rng_state``): the draws then repeat exactly.

    Example:
        >>> import chainrule as cr
        >>> state = cr.get_rng_state(); a = cr.rand(3)
        >>> cr.set_rng_state(state); b = cr.rand(3)
        >>> bool((a == b).all())
        True
    """
    _default.set_state(state)
