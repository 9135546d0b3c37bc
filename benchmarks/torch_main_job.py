"""``chainrule train`` with its defaults, written in PyTorch: the reference bench_train.py times it against.

    .venv/bin/python benchmarks/torch_main_job.py --out /tmp/torch-run

The same job, step for step: the bundled digits (3,500 training, 500 validation, 1,000 test
images: the arrays ``chainrule.data.load_digits`` gives, read here from chainrule's bundled
file with NumPy alone, so that this process does not pay for importing chainrule),
normalized with mean 0.1307 and std 0.3081, random shifts of up to one pixel (zero fill)
on the training images; the small CNN (conv 3×3 16 → ReLU → max-pool, conv 3×3 32 →
ReLU → max-pool, 64 hidden units, 10 classes); Adam with the one-cycle schedule peaking at
lr 0.005 (momentum cycled), batches of 64 shuffled every epoch, 8 epochs, one BLAS/torch
thread (``chainrule train --threads 1``, the default).

What it writes, as the chainrule job does: ``log.csv`` (one row per epoch), ``log.jsonl``
(one line per step and per epoch), a checkpoint after every epoch (``torch.save`` of model,
optimizer and schedule, written to a temporary file and renamed; the last two and the best
by validation accuracy kept), each layer's gradient norm at every step, the test metrics
(loss, accuracy, top-5, macro precision / recall / F1, per class) in ``summary.json``, and
the report: the same nine plots as chainrule's report.html (loss, accuracy, learning rate,
loss against learning rate, confusion matrix, the 16 worst test images, first-layer
filters, feature maps of one digit, gradient norms), drawn with matplotlib into PNG files
in ``report/``, as a PyTorch user would write them.
"""
import argparse
import csv
import importlib.util
import json
import math
import os
import pathlib
import time

import numpy
import torch

MEAN, STD = 0.1307, 0.3081
EPOCHS, BATCH, LR, SEED, SHIFT, KEEP_LAST = 8, 64, 0.005, 0, 1, 2


def small_cnn():
    t = torch.nn
    return t.Sequential(t.Conv2d(1, 16, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(16, 32, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
                        t.Flatten(), t.Linear(32 * 7 * 7, 64), t.ReLU(), t.Linear(64, 10))


def random_shift(images, rng):
    """Shift each image by dy, dx in −SHIFT..SHIFT whole pixels, zero fill (before normalizing)."""
    padded = numpy.pad(images, ((0, 0), (0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)))
    shifts = rng.integers(-SHIFT, SHIFT + 1, (2, len(images)))
    height, width = images.shape[2:]
    out = numpy.empty_like(images)
    for index, (dy, dx) in enumerate(shifts.T):
        out[index] = padded[index, :, SHIFT - dy:SHIFT - dy + height, SHIFT - dx:SHIFT - dx + width]
    return out


def normalize(images):
    return torch.from_numpy((images - numpy.float32(MEAN)) / numpy.float32(STD))


def classification_metrics(logits, labels, loss):
    predictions = logits.argmax(1)
    top5 = numpy.argsort(-logits, axis=1)[:, :5]
    classes = logits.shape[1]
    matrix = numpy.zeros((classes, classes), numpy.int64)
    numpy.add.at(matrix, (labels, predictions), 1)
    true_positive = numpy.diag(matrix).astype(numpy.float64)
    precision = true_positive / numpy.maximum(matrix.sum(0), 1)
    recall = true_positive / numpy.maximum(matrix.sum(1), 1)
    f1 = numpy.where(precision + recall > 0, 2 * precision * recall / numpy.maximum(precision + recall, 1e-300), 0)
    return {"loss": loss, "accuracy": float((predictions == labels).mean()),
            "top5_accuracy": float((top5 == labels[:, None]).any(1).mean()), "precision": float(precision.mean()),
            "recall": float(recall.mean()), "f1": float(f1.mean())}, matrix, (precision, recall, f1)


def evaluate(model, images, labels, batch=500):
    model.eval()
    outputs, losses = [], []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            logits = model(normalize(images[start:start + batch]))
            losses.append((float(torch.nn.functional.cross_entropy(
                logits, torch.from_numpy(labels[start:start + batch]))), len(logits)))
            outputs.append(logits.numpy())
    model.train()
    loss = sum(value * count for value, count in losses) / len(images)
    return numpy.concatenate(outputs), loss


def atomic_torch_save(value, path):
    temporary = path.with_name(f".tmp-{path.name}")
    with open(temporary, "wb") as handle:
        torch.save(value, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_digits(split):
    """``chainrule.data.load_digits(split)`` without importing chainrule: the same arrays from the same file."""
    package = importlib.util.find_spec("chainrule").submodule_search_locations[0]   # finds, does not import
    with numpy.load(pathlib.Path(package) / "data" / "assets" / "mnist_5k.npz", allow_pickle=False) as arrays:
        rows = arrays[f"{split}_indices"]
        images = arrays["images"][rows].astype(numpy.float32)[:, None, :, :] / numpy.float32(255.0)
        return images, arrays["labels"][rows].astype(numpy.int64)


def train(out):
    torch.manual_seed(SEED)
    rng = numpy.random.default_rng(SEED)
    splits = {split: load_digits(split) for split in ("train", "val", "test")}
    train_images, train_labels = splits["train"]
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    steps_per_epoch = math.ceil(len(train_images) / BATCH)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, epochs=EPOCHS,
                                                    steps_per_epoch=steps_per_epoch, cycle_momentum=True)
    (out / "checkpoints").mkdir(parents=True)
    history = {"steps": [], "epochs": [], "grad_norms": {"steps": [], "layers": {}}}
    step, best, saved = 0, None, []
    started = time.perf_counter()
    with open(out / "log.jsonl", "w") as jsonl, open(out / "log.csv", "w", newline="") as csv_file:
        writer = None
        for epoch in range(1, EPOCHS + 1):
            epoch_started = time.perf_counter()
            order = rng.permutation(len(train_images))
            loss_sum, correct = 0.0, 0
            for start in range(0, len(order), BATCH):
                rows = order[start:start + BATCH]
                inputs = normalize(random_shift(train_images[rows], rng))
                targets = torch.from_numpy(train_labels[rows])
                lr = optimizer.param_groups[0]["lr"]
                optimizer.zero_grad()
                logits = model(inputs)
                loss = torch.nn.functional.cross_entropy(logits, targets)
                loss.backward()
                step += 1
                norms = history["grad_norms"]
                norms["steps"].append(step)
                for name, module in model.named_children():
                    squares = [float((p.grad.double() ** 2).sum()) for p in module.parameters()]
                    if squares:
                        norms["layers"].setdefault(name, []).append(math.sqrt(sum(squares)))
                optimizer.step()
                scheduler.step()
                value = loss.item()
                loss_sum += value * len(rows)
                correct += int((logits.argmax(1) == targets).sum())
                history["steps"].append({"step": step, "loss": value, "lr": lr})
                jsonl.write(json.dumps({"kind": "step", "step": step, "epoch": epoch, "loss": value, "lr": lr}) + "\n")
            val_logits, val_loss = evaluate(model, *splits["val"])
            val, _, _ = classification_metrics(val_logits, splits["val"][1], val_loss)
            logs = {"epoch": epoch, "step": step, "lr": optimizer.param_groups[0]["lr"],
                    "loss": loss_sum / len(order), "accuracy": correct / len(order),
                    **{f"val_{name}": value for name, value in val.items()}}
            history["epochs"].append(logs)
            jsonl.write(json.dumps({"kind": "epoch", **logs}) + "\n")
            if writer is None:
                writer = csv.DictWriter(csv_file, fieldnames=list(logs))
                writer.writeheader()
            writer.writerow(logs)
            path = out / "checkpoints" / f"step-{step:08d}.pt"
            atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step}, path)
            saved.append(path)
            if best is None or logs["val_accuracy"] > best[0]:
                best = (logs["val_accuracy"], path)
            for old in saved[:-KEEP_LAST]:
                if old != best[1] and old.exists():
                    old.unlink()
            print(f"epoch {epoch}/{EPOCHS}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}  "
                  f"val_loss {val_loss:.4f}  val_accuracy {val['accuracy']:.4f}  lr {logs['lr']:.2e}  "
                  f"({time.perf_counter() - epoch_started:.1f}s)", flush=True)
    train_seconds = time.perf_counter() - started
    test_images, test_labels = splits["test"]
    test_logits, test_loss = evaluate(model, test_images, test_labels)
    test, matrix, per_class = classification_metrics(test_logits, test_labels, test_loss)
    report_started = time.perf_counter()
    write_plots(out / "report", history, model, test_images, test_labels, test_logits, matrix)
    summary = {"test": test, "per_class": {name: values.tolist() for name, values in
                                           zip(("precision", "recall", "f1"), per_class)},
               "epochs_completed": EPOCHS, "steps": step, "train_seconds": train_seconds,
               "report_seconds": time.perf_counter() - report_started, "best_checkpoint": str(best[1])}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"test accuracy {test['accuracy']:.4f}  loss {test_loss:.4f}  macro F1 {test['f1']:.4f}")
    return summary


# ----- the report: the nine plots of chainrule's report.html, as PNG files ---------------------------
def write_plots(folder, history, model, images, labels, logits, matrix):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir()

    def figure(width=6.4, height=3.6):
        made = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(made)
        return made

    def save(made, name):
        made.savefig(folder / f"{name}.png", bbox_inches="tight")

    steps, epochs = history["steps"], history["epochs"]
    per_epoch = max(1, len(steps) // len(epochs))
    numbers = [logs["epoch"] for logs in epochs]

    made = figure()
    axes = made.add_subplot()
    axes.plot([r["step"] / per_epoch for r in steps], [r["loss"] for r in steps], color="tab:blue", alpha=0.25,
              linewidth=0.8, label="training loss per batch")
    axes.plot(numbers, [logs["loss"] for logs in epochs], "o-", label="training loss (epoch mean)")
    axes.plot(numbers, [logs["val_loss"] for logs in epochs], "s-", label="validation loss")
    axes.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log")
    axes.legend()
    axes.grid(alpha=0.3)
    save(made, "loss")

    made = figure()
    axes = made.add_subplot()
    axes.plot(numbers, [logs["accuracy"] for logs in epochs], "o-", label="training")
    axes.plot(numbers, [logs["val_accuracy"] for logs in epochs], "s-", label="validation")
    axes.set(xlabel="epoch", ylabel="accuracy")
    axes.legend()
    axes.grid(alpha=0.3)
    save(made, "accuracy")

    made = figure(6.4, 3.0)
    axes = made.add_subplot()
    axes.plot([r["step"] for r in steps], [r["lr"] for r in steps])
    axes.set(xlabel="step", ylabel="learning rate")
    axes.grid(alpha=0.3)
    save(made, "learning-rate")

    made = figure()
    axes = made.add_subplot()
    points = axes.scatter([r["lr"] for r in steps], [r["loss"] for r in steps], c=[r["step"] for r in steps],
                          cmap="viridis", s=6)
    made.colorbar(points, ax=axes, label="step")
    axes.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="training loss (batch)")
    axes.grid(alpha=0.3)
    save(made, "lr-loss")

    made = figure(5.5, 5.0)
    axes = made.add_subplot()
    made.colorbar(axes.imshow(matrix, cmap="Blues"), ax=axes, fraction=0.046)
    ticks = numpy.arange(len(matrix))
    axes.set_xticks(ticks, [str(t) for t in ticks])
    axes.set_yticks(ticks, [str(t) for t in ticks])
    axes.set(xlabel="predicted", ylabel="true")
    for row in range(len(matrix)):
        for column in range(len(matrix)):
            if matrix[row, column]:
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=7,
                          color="white" if matrix[row, column] > matrix.max() / 2 else "black")
    save(made, "confusion-matrix")

    log_probabilities = torch.log_softmax(torch.from_numpy(logits).double(), 1).numpy()
    worst = numpy.argsort(log_probabilities[numpy.arange(len(labels)), labels], kind="stable")[:16]
    made = figure(8 * 1.1, 2 * 1.35)
    for position, index in enumerate(worst):
        axes = made.add_subplot(2, 8, position + 1)
        axes.imshow(images[index, 0], cmap="gray_r")
        predicted = int(logits[index].argmax())
        axes.set_title(f"true {labels[index]}\npred {predicted} ({math.exp(log_probabilities[index, predicted]):.0%})",
                       fontsize=7, color="tab:red" if predicted != labels[index] else "black")
        axes.axis("off")
    save(made, "worst-digits")

    kernels = model[0].weight.detach().numpy().mean(axis=1)
    made = figure(8.0, 2.0)
    limit = float(numpy.abs(kernels).max())
    for position, kernel in enumerate(kernels):
        axes = made.add_subplot(2, 8, position + 1)
        axes.imshow(kernel, cmap="RdBu", vmin=-limit, vmax=limit)
        axes.axis("off")
    save(made, "filters")

    model.eval()
    with torch.no_grad():
        maps = model[1](model[0](normalize(images[:1])))[0].numpy()
    made = figure(8 * 1.1, 2 * 1.1 + 1.2)
    axes = made.add_subplot(3, 8, 1)
    axes.imshow(images[0, 0], cmap="gray_r")
    axes.set_title("input", fontsize=8)
    axes.axis("off")
    for position, feature_map in enumerate(maps):
        axes = made.add_subplot(3, 8, 8 + position + 1)
        axes.imshow(feature_map, cmap="viridis")
        axes.set_title(f"map {position}", fontsize=7)
        axes.axis("off")
    save(made, "feature-maps")

    made = figure(6.4, 3.8)
    axes = made.add_subplot()
    norms = history["grad_norms"]
    for layer, values in norms["layers"].items():
        axes.plot(norms["steps"], values, label=f"{layer} ({type(model[int(layer)]).__name__})", linewidth=1)
    axes.set(yscale="log", xlabel="step", ylabel="‖∇‖₂ of the layer's parameters")
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    save(made, "gradient-norms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="a new folder for the run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (chainrule train's --threads, default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; choose a new --out")
    train(out)


if __name__ == "__main__":
    main()
