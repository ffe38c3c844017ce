"""``Compose``, ``ToTensor``, ``Lambda`` and ``Normalize``, as torchvision defines
them for 2-D grey and HWC images (what BindsNET's examples and
``bindsnet.datasets.preprocess`` use)."""

import numpy as np
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    """PIL image or uint8 ``(H, W[, C])`` array -> float ``(C, H, W)`` in [0, 1]."""

    def __call__(self, pic):
        a = np.array(pic, copy=True)
        if a.ndim == 2:
            a = a[:, :, None]
        t = torch.from_numpy(a).permute(2, 0, 1).contiguous()
        if t.dtype == torch.uint8:
            return t.to(torch.get_default_dtype()).div(255)
        return t


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, t):
        mean = torch.as_tensor(self.mean, dtype=t.dtype).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=t.dtype).view(-1, 1, 1)
        return (t.sub_(mean) if self.inplace else t - mean).div(std)
