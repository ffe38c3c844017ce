"""Placeholder dataset classes.

``bindsnet.datasets`` subclasses ~24 torchvision datasets when it is imported,
so the names must exist; none of them can be built here (no torchvision, no
downloads). The benchmark feeds BindsNET its own tensors instead.
"""


class _Unavailable:
    _name = "dataset"

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"torchvision.datasets.{self._name} is not available:"
            " this is jstdp's torchvision stand-in (benchmarks/bindsnet_shim)"
        )

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    cls = type(
        name, (_Unavailable,), {"_name": name, "__doc__": f"Stand-in for {name}."}
    )
    globals()[name] = cls
    return cls
