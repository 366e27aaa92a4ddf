"""Backbones (ResNet-18/34, a small CNN), channel adapters, compression, masking and the Classifier."""

from .adapters import ADAPTERS, PerChannelFrontends, RepeatChannels, SingleChannel, adapter_channels
from .backbones import BACKBONES, build_backbone
from .classifier import Classifier
from .compression import COMPRESSIONS, Compression
from .masking import SpecMasking
from .resnet import BasicBlock, ResNet, resnet18, resnet34
from .small_cnn import SmallCNN

__all__ = [
    "ADAPTERS",
    "BACKBONES",
    "COMPRESSIONS",
    "BasicBlock",
    "Classifier",
    "Compression",
    "PerChannelFrontends",
    "RepeatChannels",
    "ResNet",
    "SingleChannel",
    "SmallCNN",
    "SpecMasking",
    "adapter_channels",
    "build_backbone",
    "resnet18",
    "resnet34",
]
