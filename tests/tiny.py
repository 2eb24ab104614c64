"""The tiny training config the trainer tests share: one channel, 8×8 images, a two-level U-Net."""

from fpscore.training.config import Config

TINY = [
    "model.image_channels=1",
    "model.image_size=8",
    "model.channels=8",
    "model.channel_mult=[1, 2]",
    "model.num_res_blocks=1",
    "model.attn_resolutions=[4]",
    "model.dropout=0.1",
    "train.batch_size=8",
    "train.lr=2e-3",
    "train.warmup=2",
    "train.progress=false",
    "train.log_every=1",
]


def tiny_config(*extra: str) -> Config:
    return Config().override([*TINY, *extra])
