"""chainrule.train: the training loop, metrics, callbacks, checkpoints, logs and the run report.

    import chainrule as cr, chainrule.nn as nn, chainrule.optim
    from chainrule.train import Trainer, ModelCheckpoint, CSVLogger, EarlyStopping
    trainer = Trainer(model, cr.optim.Adam(model.parameters(), lr=1e-3),
                      callbacks=[CSVLogger("run/log.csv"), ModelCheckpoint("run/checkpoints"), EarlyStopping(patience=3)])
    history = trainer.fit(train_loader, val_loader, epochs=10)
    history["val_accuracy"]                 # one value per epoch

    run = load_run("runs/lenet")            # a finished run of `chainrule train`: model, config, checkpoint
    run.predict(images)                     # images in [0, 1], normalized as the run did

See docs/training.md for the loop written by hand, what the checkpoints hold,
what loading one may and may not do, and how to resume bitwise.
"""
from chainrule.train import metrics
from chainrule.train.callbacks import (
    Callback, CSVLogger, EarlyStopping, EpochPrinter, GradientNormRecorder, JSONLLogger, LambdaCallback,
    ModelCheckpoint, ProgressBar, TensorBoardLogger,
)
from chainrule.train.checkpoint import (
    CheckpointError, CheckpointManager, decode_state, encode_state, load_checkpoint, save_checkpoint,
)
from chainrule.train.history import History
from chainrule.train.job import TrainedRun, load_run
from chainrule.train.metrics import (
    MetricAccumulator, accuracy, confusion_matrix, f1_score, mean_absolute_error, mean_squared_error, precision,
    precision_recall_f1, r2_score, recall, top_k_accuracy,
)
from chainrule.train.trainer import Trainer, fit

__all__ = [
    "CSVLogger", "Callback", "CheckpointError", "CheckpointManager", "EarlyStopping", "EpochPrinter",
    "GradientNormRecorder", "History", "JSONLLogger", "LambdaCallback", "MetricAccumulator", "ModelCheckpoint",
    "ProgressBar", "TensorBoardLogger", "TrainedRun", "Trainer", "accuracy", "confusion_matrix", "decode_state",
    "encode_state", "f1_score", "fit", "load_checkpoint", "load_run", "mean_absolute_error", "mean_squared_error",
    "metrics", "precision", "precision_recall_f1", "r2_score", "recall", "save_checkpoint", "top_k_accuracy",
]
