"""``make_grid`` is imported by ``bindsnet.analysis.pipeline_analysis`` (the
TensorBoard plots), which the benchmark never calls."""


def make_grid(*args, **kwargs):
    raise RuntimeError(
        "torchvision.utils.make_grid is not available: this is jstdp's torchvision"
        " stand-in (benchmarks/bindsnet_shim)"
    )
