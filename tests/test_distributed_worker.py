"""The program that tests/test_distributed.py starts on N ranks with mpiexec (it holds no tests itself).

    mpiexec -n N python tests/test_distributed_worker.py checks OUT     collectives, DDP, SyncBatchNorm, mismatches
    mpiexec -n N python tests/test_distributed_worker.py same OUT       the bundled CNN, 50 Adam steps, f32 and f64
    mpiexec -n N python tests/test_distributed_worker.py all OUT        both
    mpiexec -n 2 python tests/test_distributed_worker.py crash OUT CSV  a training job whose rank 1 dies at step 7

Every check raises on failure; the abort hook then ends every rank with a non-zero
status, so the test sees the failure (and its message on stderr) at once.
"""
import pathlib
import sys
import time

import numpy

CNN_STEPS = 50
CNN_BATCH = 16


def sequential_mean(rows):
    """Σ_s rows[s] in rank order, then ÷N: what the ordered reduction must give bit for bit."""
    total = rows[0].copy()
    for row in rows[1:]:
        total += row
    return total / len(rows)


def check_collectives(dist, cr, rank, size):
    def value(s, dtype=numpy.float64):
        return (numpy.arange(6, dtype=dtype).reshape(2, 3) + 10 * s + 1).astype(dtype)

    everyone = numpy.stack([value(s) for s in range(size)])
    expected = {"sum": everyone.sum(0), "avg": everyone.mean(0), "product": everyone.prod(0),
                "min": everyone.min(0), "max": everyone.max(0)}
    for op, want in expected.items():
        for async_op in (False, True):
            for ordered in (False, True):
                x = cr.tensor(value(rank))
                work = dist.all_reduce(x, op=op, async_op=async_op, ordered=ordered)
                if async_op:
                    work.wait()
                assert numpy.allclose(x.numpy(), want, rtol=1e-14), (op, async_op, ordered, x.numpy(), want)
    odd = cr.tensor(numpy.arange(7, dtype=numpy.float32) + rank)  # not a multiple of N: padded inside
    dist.all_reduce(odd, ordered=True)
    assert odd.numpy().tolist() == (numpy.arange(7) * size + sum(range(size))).tolist()
    strided = cr.tensor(numpy.arange(12.0).reshape(3, 4) + rank)[:, ::2]  # a non-contiguous view
    dist.all_reduce(strided, op="max")
    assert strided.numpy().tolist() == (numpy.arange(12.0).reshape(3, 4)[:, ::2] + size - 1).tolist()
    ints = cr.tensor(numpy.array([rank, 1], dtype=numpy.int64))
    dist.all_reduce(ints)
    assert ints.numpy().tolist() == [sum(range(size)), size]

    x = cr.tensor(value(rank))
    dist.broadcast(x, src=size - 1)
    assert x.numpy().tolist() == value(size - 1).tolist()
    parts = [cr.zeros(2, 3, dtype=cr.float64) for _ in range(size)]
    dist.all_gather(parts, cr.tensor(value(rank)), async_op=True).wait()
    assert all(part.numpy().tolist() == value(s).tolist() for s, part in enumerate(parts))
    out = cr.zeros(size * 2, 3, dtype=cr.float64)
    dist.all_gather_into_tensor(out, cr.tensor(value(rank)))
    assert out.numpy().tolist() == everyone.reshape(size * 2, 3).tolist()
    piece = cr.zeros(2, 3, dtype=cr.float64)
    dist.reduce_scatter(piece, [cr.tensor(value(rank) * (s + 1)) for s in range(size)])
    assert numpy.allclose(piece.numpy(), everyone.sum(0) * (rank + 1))
    piece = cr.zeros(2, 3, dtype=cr.float64)
    dist.reduce_scatter_tensor(piece, cr.tensor(numpy.concatenate([value(rank)] * size)), op="mean")
    assert numpy.allclose(piece.numpy(), everyone.mean(0))
    gathered = [cr.zeros(2, 3, dtype=cr.float64) for _ in range(size)] if rank == 0 else None
    dist.gather(cr.tensor(value(rank)), gathered, dst=0)
    if rank == 0:
        assert all(part.numpy().tolist() == value(s).tolist() for s, part in enumerate(gathered))
    received = cr.zeros(2, 3, dtype=cr.float64)
    sent = [cr.tensor(value(s) * 2) for s in range(size)] if rank == 1 else None
    dist.scatter(received, sent, src=1, async_op=True).wait()
    assert received.numpy().tolist() == (value(rank) * 2).tolist()
    try:
        dist.broadcast(cr.zeros(1), src=size)
    except ValueError as error:
        assert f"0..{size - 1}" in str(error)
    else:
        raise AssertionError("broadcast accepted a src outside the world")
    measured = dist.measure(sizes=[1024, 65536], repeats=2, verbose=False)
    assert measured.world_size == size and len(measured.seconds) == 2 and measured.alpha is not None
    assert all(seconds > 0 for seconds in measured.seconds + measured.raw_seconds)
    dist.barrier()
    return "collectives"


def _mlp(cr, nn, seed, width=4):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, width), nn.Tanh(), nn.Linear(width, 2))


def check_ddp(dist, cr, nn, rank, size):
    rng = numpy.random.default_rng(100 + rank)
    inputs = cr.tensor(rng.normal(size=(5, 3)))
    model = _mlp(cr, nn, seed=rank).double()  # a different initialization on every rank
    reference = _mlp(cr, nn, seed=0).double()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=25)
    for mine, rank0 in zip(model.parameters(), reference.parameters()):
        assert mine.array.tobytes() == rank0.array.tobytes(), "wrap did not broadcast rank 0's parameters"
    assert len(ddp.reducer.buckets) == 1

    local = _mlp(cr, nn, seed=0).double()  # the same weights, no DDP: this rank's own gradient
    (local(inputs) ** 2).sum().backward()
    (ddp(inputs) ** 2).sum().backward()
    for mine, own in zip(model.parameters(), local.parameters()):
        rows = dist.allgather_rows(own.grad.numpy()[None])
        assert mine.grad.numpy().tobytes() == sequential_mean(list(rows)).tobytes(), "DDP's mean is not rank-ordered"

    small = dist.DistributedDataParallel(_mlp(cr, nn, seed=0).double(), bucket_cap_mb=100 / 2**20)
    assert len(small.reducer.buckets) >= 3, len(small.reducer.buckets)
    (small(inputs) ** 2).sum().backward()
    for mine, other in zip(small.module.parameters(), model.parameters()):
        assert mine.grad.numpy().tobytes() == other.grad.numpy().tobytes(), "bucketing changed the bits"

    loose = dist.DistributedDataParallel(_mlp(cr, nn, seed=0).double(), deterministic=False, bucket_cap_mb=0.0001)
    (loose(inputs) ** 2).sum().backward()
    for mine, other in zip(loose.module.parameters(), model.parameters()):
        assert numpy.allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-13, atol=1e-15)

    # no_sync: two micro-batches, one reduction of their sum
    accumulated = dist.DistributedDataParallel(_mlp(cr, nn, seed=0).double())
    second = cr.tensor(rng.normal(size=(4, 3)))
    with accumulated.no_sync():
        (accumulated(inputs) ** 2).sum().backward()
    check = _mlp(cr, nn, seed=0).double()
    (check(inputs) ** 2).sum().backward()
    for mine, own in zip(accumulated.module.parameters(), check.parameters()):
        assert mine.grad.numpy().tobytes() == own.grad.numpy().tobytes(), "no_sync must keep the local gradient"
    (accumulated(second) ** 2).sum().backward()
    (check(second) ** 2).sum().backward()
    for mine, own in zip(accumulated.module.parameters(), check.parameters()):
        rows = dist.allgather_rows(own.grad.numpy()[None])
        assert numpy.allclose(mine.grad.numpy(), rows.mean(0), rtol=1e-13), "no_sync accumulation"
    assert accumulated.reducer.stats()["steps"] == 1, "no_sync must not communicate"

    # a parameter that no rank uses: an error without find_unused_parameters, none with it
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    cr.manual_seed(0)
    strict = dist.DistributedDataParallel(TwoHeads().double())
    strict(inputs).sum().backward()
    try:
        strict(inputs)
    except RuntimeError as error:
        assert "unused.weight" in str(error) and "find_unused_parameters=True" in str(error), str(error)
    else:
        raise AssertionError("an unused parameter went unnoticed")
    cr.manual_seed(0)
    lenient = dist.DistributedDataParallel(TwoHeads().double(), find_unused_parameters=True)
    for _ in range(2):
        lenient.zero_grad()
        lenient(inputs).sum().backward()
    assert lenient.module.unused.weight.grad is None and lenient.module.used.weight.grad is not None
    return "ddp"


def check_mismatch(dist, nn, cr, rank, size):
    cases = [
        (lambda: nn.Sequential(nn.Linear(3, 4 if rank == 0 else 5)), ["'0.weight'", "(4, 3)", "(5, 3)", "rank 1"]),
        (lambda: nn.Linear(3, 4) if rank == 0 else nn.Linear(3, 4).double(), ["'weight'", "float32", "float64"]),
        (lambda: nn.Sequential(nn.Linear(2, 2)) if rank == 0 else nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)),
         ["rank 0 has 2 parameters", "rank 1 has 4", "'1.weight'", "(2, 2)"]),
    ]
    for build, expected in cases:
        try:
            dist.DistributedDataParallel(build())
        except ValueError as error:
            for text in expected:
                assert text in str(error), (text, str(error))
        else:
            raise AssertionError("a model that differs across ranks was wrapped")
    return "mismatch"


def check_sync_batchnorm(dist, cr, nn, rank, size):
    rng = numpy.random.default_rng(7)
    full = rng.normal(size=(4 * size, 3, 2, 2)) * 3 + 1
    upstream = rng.normal(size=full.shape)
    shard = slice(4 * rank, 4 * (rank + 1))
    cr.manual_seed(0)
    model = dist.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3).double()))
    assert type(model[0]).__name__ == "SyncBatchNorm"
    model[0].weight.array[...] = [1.5, -0.5, 2.0]
    x = cr.tensor(full[shard], requires_grad=True)
    y = model(x)
    (y * cr.tensor(upstream[shard])).sum().backward()
    plain = nn.BatchNorm2d(3).double()
    plain.weight.array[...] = [1.5, -0.5, 2.0]
    x_full = cr.tensor(full, requires_grad=True)
    y_full = plain(x_full)
    (y_full * cr.tensor(upstream)).sum().backward()
    assert numpy.allclose(y.array, y_full.array[shard], rtol=1e-12, atol=1e-12)
    assert numpy.allclose(x.grad.numpy(), x_full.grad.numpy()[shard], rtol=1e-10, atol=1e-12)
    weight_grad = model[0].weight.grad.numpy().copy()
    dist.all_reduce(model[0].weight.grad)  # the ranks' shares add up to the whole batch's gradient
    assert numpy.allclose(model[0].weight.grad.numpy(), plain.weight.grad.numpy(), rtol=1e-10)
    assert not numpy.allclose(weight_grad, plain.weight.grad.numpy()) or size == 1
    assert numpy.allclose(model[0].running_mean.numpy(), plain.running_mean.numpy(), rtol=1e-12)
    assert numpy.allclose(model[0].running_var.numpy(), plain.running_var.numpy(), rtol=1e-12)
    return "sync_batchnorm"


def train_cnn(dtype_name, world_size, rank, ddp_factory=None):
    """The bundled CNN, 50 Adam steps on the first 50·16 of a fixed shuffle of the digits; its final parameters.

    One process takes batches of 16; rank r of N takes its DistributedSampler shard,
    batches of 16/N (the k-th batches of all ranks together are the one process's k-th).
    """
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.data import DataLoader, TensorDataset, load_digits
    from chainrule.models import cnn

    images, labels = load_digits("train")
    order = numpy.random.default_rng(0).permutation(len(labels))[:CNN_STEPS * CNN_BATCH]
    dtype = numpy.float32 if dtype_name == "float32" else numpy.float64
    dataset = TensorDataset(images[order].astype(dtype), labels[order])
    cr.manual_seed(0)
    model = cnn()
    if dtype is numpy.float64:
        model = model.double()
    if world_size == 1:
        loader = DataLoader(dataset, batch_size=CNN_BATCH)
        trained = model
    else:
        from chainrule.distributed import DistributedSampler

        loader = DataLoader(dataset, batch_size=CNN_BATCH // world_size,
                            sampler=DistributedSampler(dataset, world_size, rank, shuffle=False))
        trained = ddp_factory(model)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss_fn(trained(inputs), targets).backward()
        optimizer.step()
        steps += 1
    assert steps == CNN_STEPS, steps
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def main(mode, out, *extra):
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # N ranks on few cores: BLAS threads would fight over them
    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn

    group = dist.init_process_group()
    rank, size = group.rank, group.size
    out = pathlib.Path(out)
    if mode in ("checks", "all"):
        for name in (check_collectives(dist, cr, rank, size), check_ddp(dist, cr, nn, rank, size),
                     check_mismatch(dist, nn, cr, rank, size), check_sync_batchnorm(dist, cr, nn, rank, size)):
            print(f"rank {rank}: ok {name}", flush=True)
    if mode in ("same", "all"):
        for dtype_name in ("float32", "float64"):
            parameters = train_cnn(dtype_name, size, rank, ddp_factory=dist.DistributedDataParallel)
            for name, value in parameters.items():  # the replicas must be identical
                rows = dist.allgather_rows(value[None])
                assert all(row.tobytes() == value.tobytes() for row in rows), f"{name} differs across ranks"
            if rank == 0:
                numpy.savez(out / f"cnn-{dtype_name}-{size}.npz", **parameters)
        print(f"rank {rank}: ok same", flush=True)
    if mode == "crash":
        crash_training(out, extra[0], rank)


def crash_training(folder, csv_path, rank):
    """The main job on every rank, checkpointing every 3 steps; rank 1 raises at step 7."""
    from chainrule.distributed.training import DistributedJob
    from chainrule.train.callbacks import Callback
    from chainrule.train.checkpoint import atomic_write_json

    config = crash_config(csv_path, folder)
    job = DistributedJob(config, folder, progress=False, echo=False)
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "config.json", config.to_dict())

    class DieAtStep(Callback):
        def on_batch_end(self, batch, logs):
            if rank == 1 and self.trainer.step == 7:
                print(f"raising at {time.time():.3f}", flush=True)
                raise RuntimeError("rank 1 was told to fail at step 7")

    job.trainer.callbacks.append(DieAtStep())
    job.run()


def crash_config(csv_path, folder):
    from chainrule.train.job import TrainConfig

    return TrainConfig(data=str(csv_path), epochs=2, batch_size=16, checkpoint_every_steps=3, keep_last=10,
                       augment_shift=0, out=str(folder))


if __name__ == "__main__":
    main(*sys.argv[1:])
