"""The process group: which process this is (its rank) among how many (the world size), over MPI.

``mpiexec -n 4 python train.py`` starts four copies of the program; MPI numbers them
0..3 and connects them. ``init_process_group()`` reads that world (mpi4py's
``COMM_WORLD``) once, keeps a private duplicate of it for chainrule's own messages,
and, when there is more than one rank, installs an excepthook: a rank that raises
prints its rank and error and calls ``MPI.COMM_WORLD.Abort(1)``, which ends every
rank, so a failure never leaves the others waiting forever in a collective.

mpi4py is optional: ``import chainrule.distributed`` works without it, and
``init_process_group()`` then says how to install it. A program that is not started
by ``mpiexec`` is a world of one rank, where every collective is a copy.
"""
import os
import sys
import traceback

INSTALL_HINT = "pip install 'chainrule[mpi]'  (the mpi4py and mpich wheels; no system MPI needed)"

# Environment variables that MPI launchers set in every process they start:
# MPICH's Hydra and Intel MPI (PMI_SIZE), Open MPI (OMPI_COMM_WORLD_SIZE), Slurm (SLURM_NTASKS with srun).
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")

_group = None  # the ProcessGroup once init_process_group() has run


class ProcessGroup:
    """The ranks that take part in collectives: an MPI communicator, this process's rank, the world size.

    Example:
        >>> import chainrule.distributed as dist
        >>> dist.init_process_group()
        ProcessGroup(rank=0, world_size=1, backend='mpi')
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    def __repr__(self):
        return f"ProcessGroup(rank={self.rank}, world_size={self.size}, backend='mpi')"


def import_mpi(caller="chainrule.distributed"):
    """mpi4py's ``MPI`` module, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"{caller}: data-parallel training needs mpi4py and an MPI library, which are not "
                          f"installed ({error}); install them with: {INSTALL_HINT}") from None
    return MPI


def launched_world_size():
    """The world size that an MPI launcher announced in the environment (1 when started without one).

    Reading the environment does not start MPI, so the ``chainrule`` command can ask it
    cheaply before deciding to train on several ranks.

    Example:
        >>> launched_world_size() >= 1
        True
    """
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def init_process_group(backend="mpi", abort_on_error=True):
    """Join the MPI world (once; later calls return the same group). Returns the ``ProcessGroup``.

    Only ``backend='mpi'`` exists: MPI (mpi4py over the mpich wheel, or the cluster's MPI)
    carries the messages. With more than one rank and ``abort_on_error``, an uncaught
    exception on any rank prints ``rank r/N failed`` with its traceback and aborts the
    whole job (``MPI.COMM_WORLD.Abort(1)``), so no rank hangs waiting for a dead one.

    Example:
        >>> import chainrule.distributed as dist
        >>> group = dist.init_process_group()
        >>> dist.get_rank(), dist.get_world_size()      # run without mpiexec: one rank
        (0, 1)
    """
    global _group
    if backend not in ("mpi", None):
        raise ValueError(f"init_process_group: backend must be 'mpi' (chainrule's only backend), got {backend!r}")
    if _group is not None:
        return _group
    MPI = import_mpi("init_process_group")
    if not MPI.Is_initialized():
        MPI.Init()
    # A duplicate keeps chainrule's messages apart from any the user's own mpi4py code sends.
    _group = ProcessGroup(MPI.COMM_WORLD.Dup())
    if _group.size > 1 and abort_on_error:
        _install_abort_hook(_group)
    return _group


def _install_abort_hook(group):
    previous = sys.excepthook

    def abort_every_rank(kind, error, trace):
        message = "".join(traceback.format_exception(kind, error, trace))
        sys.stderr.write(f"chainrule.distributed: rank {group.rank}/{group.size} failed, aborting every rank:\n{message}")
        sys.stderr.flush()
        if kind is KeyboardInterrupt:
            previous(kind, error, trace)
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_every_rank


def is_available():
    """True when mpi4py can be imported (so ``init_process_group`` can work).

    Example:
        >>> isinstance(is_available(), bool)
        True
    """
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized():
    """True after ``init_process_group()`` (and before ``destroy_process_group()``).

    Example:
        >>> import chainrule.distributed as dist
        >>> _ = dist.init_process_group(); dist.is_initialized()
        True
    """
    return _group is not None


def group():
    """The current ``ProcessGroup``; a RuntimeError if ``init_process_group()`` has not run."""
    if _group is None:
        raise RuntimeError("chainrule.distributed: the process group is not initialized; call "
                           "chainrule.distributed.init_process_group() first (and start the program with "
                           "mpiexec -n N to have N ranks)")
    return _group


def get_rank():
    """This process's rank, 0 ≤ rank < world size (0 before initialization, as a world of one).

    Example:
        >>> import chainrule.distributed as dist
        >>> dist.get_rank()
        0
    """
    return _group.rank if _group is not None else 0


def get_world_size():
    """The number of ranks (1 before initialization).

    Example:
        >>> import chainrule.distributed as dist
        >>> dist.get_world_size()
        1
    """
    return _group.size if _group is not None else 1


def barrier():
    """Wait until every rank has reached this call.

    Example:
        >>> import chainrule.distributed as dist
        >>> _ = dist.init_process_group(); dist.barrier()
    """
    group().comm.Barrier()


def destroy_process_group():
    """Leave the process group: free chainrule's communicator (MPI itself ends when the program exits).

    Example:
        >>> import chainrule.distributed as dist
        >>> _ = dist.init_process_group(); dist.destroy_process_group(); dist.is_initialized()
        False
    """
    global _group
    if _group is not None:
        _group.comm.Free()
        _group = None
