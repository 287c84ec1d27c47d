"""The command line, run as `python -m kerasnas.run --space resnet --oracle bayes`.

Searches a space on an image dataset (Fashion-MNIST by default; trials train on
part of the training set and are scored on a held-out part), evaluates the best
model once on the test set, and writes results.csv, summary.json and
best_model.keras (it takes raw images: the normalisation is built in).
"""

import argparse
import json
import os
import sys
import time

from kerasnas.settings import SearchSettings, positive_int  # no TensorFlow

# Names only: importing kerasnas.spaces/oracles would import Keras before --help,
# before --backend can choose its backend and --strategy mirrored split the CPU.
SPACE_NAMES = ("resnet", "nasbench201", "custom", "convnet")
ORACLE_NAMES = ("random", "bayes", "kt-gp", "tpe", "evolution")

EXAMPLES = """examples:
  python -m kerasnas.run --space resnet --oracle bayes
  python -m kerasnas.run --space custom --oracle evolution --max-trials 6 --epochs 3
  python -m kerasnas.run --space nasbench201 --oracle evolution --train-size 2000 --val-size 500

  python -m kerasnas.run --dataset my_images/ --space nasbench201 --oracle evolution
  python -m kerasnas.run --dataset tfds:cifar10 --image-size 32
  python -m kerasnas.run --backend jax --space resnet --oracle tpe

Data (--dataset): fashion_mnist (default): the official files, from --data-dir if
given, else /usr/share/datasets/fashion-mnist (apt-get install -y
dataset-fashion-mnist), else the Keras cache, else Keras' download.
tfds:NAME: a TensorFlow Datasets image-classification dataset (pip install -e
.[tfds]; --data-dir is TFDS' data folder). A folder: one subfolder of images per
class. FILE.npz: arrays x, y (optionally x_test, y_test).
"""



def parse_options(items):
    """`KEY=VALUE` strings to a dict; values read as JSON when they parse (8, 0.5, "sgd")."""
    options = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--space-option expects KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return options


def parser():
    p = argparse.ArgumentParser(
        prog="python -m kerasnas.run", description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", choices=SPACE_NAMES, default="resnet", help="search space (default: resnet)")
    p.add_argument("--oracle", choices=ORACLE_NAMES, default="bayes",
                   help="search strategy: random, bayes (Gaussian process for architecture "
                        "spaces), kt-gp (KerasTuner's GP, for comparison), tpe (Optuna), "
                        "evolution (aging evolution) (default: bayes)")
    p.add_argument("--output-dir", default=None, help="where results go (default: runs/SPACE-ORACLE)")
    p.add_argument("--resume", action="store_true", help="continue the search in --output-dir")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier search in --output-dir")
    p.add_argument("--population-size", type=positive_int,
                   help="evolution: population P (default: sized to the budget)")
    p.add_argument("--sample-size", type=positive_int,
                   help="evolution: tournament size S (default: sized to the budget)")
    p.add_argument("--space-option", action="append", default=[], metavar="KEY=VALUE",
                   help="pin a knob of the space, e.g. --space-option channels=8 (repeatable)")
    p.add_argument("--constraint", action="append", default=[], metavar="NAME<=NUMBER",
                   help="a bound every returned model keeps: params, flops (multiply-accumulates "
                        "an image) or latency (ms an image at batch 1 on this machine), e.g. "
                        "--constraint params<=100000 (repeatable); a candidate that breaks one "
                        "is never trained")
    p.add_argument("--objectives", default="accuracy", metavar="NAME,NAME",
                   help="what the search trades off: accuracy with any of params, flops, latency, "
                        "e.g. --objectives accuracy,params: the oracle searches for the Pareto "
                        "front, marked in results.csv (pareto), listed and tested in summary.json "
                        "(pareto_front), its models in front/; best_model.keras is its most "
                        "accurate member (default: accuracy)")
    d = p.add_argument_group(
        "several machines (KerasTuner's chief/worker mode)",
        "Start one chief (serves the oracle, never trains) and any number of workers with the same "
        "flags and --output-dir on a shared filesystem.")
    d.add_argument("--role", choices=("chief", "worker"), help="this process's part")
    d.add_argument("--oracle-address", default="127.0.0.1:8000",
                   help="HOST:PORT the chief listens on (default: 127.0.0.1:8000, this machine only)")
    d.add_argument("--worker-id", default="tuner0", help="a unique name per worker (default: tuner0)")
    SearchSettings.add_arguments(p, groups={"distributed": d})
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.population_size and args.sample_size and args.sample_size > args.population_size:
        parser().error(f"--sample-size {args.sample_size} is larger than --population-size "
                       f"{args.population_size}; the tournament samples from the population.")
    wanted = (args.train_size or 0) + (args.val_size or 10000)  # Fashion-MNIST's default val
    if args.dataset == "fashion_mnist" and wanted > 60000:
        parser().error(f"--train-size + --val-size = {wanted} is more than the 60000 training images.")
    from kerasnas._quiet import import_tensorflow_quietly
    from kerasnas.backends import select, split_host_devices

    try:  # before anything imports Keras: it reads KERAS_BACKEND once
        backend = select(args.backend) or "tensorflow"
    except ValueError as e:
        parser().error(str(e))
    if args.strategy == "mirrored" and backend == "torch":
        parser().error("--strategy mirrored needs --backend tensorflow or jax (Keras' "
                       "distribution API is JAX-only; torch trains on one device).")
    if args.strategy == "mirrored" and backend == "jax" and "jax" not in sys.modules:
        split_host_devices(2)  # used only when JAX finds no GPU (kerasnas.strategy)
    if args.strategy == "mirrored" and backend == "tensorflow":
        import_tensorflow_quietly()
        from kerasnas.strategy import split_cpu

        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            split_cpu(2)

    if args.role:
        import_tensorflow_quietly()
        from kerasnas.distributed import configure

        try:
            configure(args.role, args.oracle_address, args.worker_id)
        except ValueError as e:
            parser().error(str(e))

    from kerasnas.datasets import DataError, make_splits
    from kerasnas.lock import FolderLock

    oracle_options = {}
    if args.oracle == "evolution":
        oracle_options = {k: v for k, v in (("population_size", args.population_size),
                                            ("sample_size", args.sample_size)) if v}
    elif args.population_size or args.sample_size:
        parser().error("--population-size and --sample-size only apply to --oracle evolution.")
    try:
        space_options = parse_options(args.space_option)
    except ValueError as e:
        parser().error(str(e))
    output_dir = args.output_dir or os.path.join("runs", f"{args.space}-{args.oracle}")
    try:
        settings = SearchSettings.from_args(args, space_options=space_options,
                                            oracle_options=oracle_options,
                                            constraints=tuple(args.constraint),
                                            objectives=args.objectives)
        if args.role != "worker":  # a busy folder refuses at once, before the heavy imports
            FolderLock(output_dir).check()
        import_tensorflow_quietly()  # no C++ start-up notes in the CLI's output
        data = make_splits(settings.dataset, train_size=settings.train_size,
                           val_size=settings.val_size, test_size=settings.test_size,
                           seed=settings.seed, image_size=settings.image_size,
                           data_dir=settings.data_dir, memory_limit_mb=settings.memory_limit_mb)
    except (DataError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    from kerasnas.search import SearchStopped, search

    try:
        started = time.time()
        result = search(args.space, args.oracle, data, settings, directory=output_dir,
                        overwrite=args.overwrite, resume=args.resume)
    except (DataError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except SearchStopped as e:
        kept = " and the best model exported" if e.result else ""
        print(f"error: the search stopped early: {e}\nCompleted trials are kept in "
              f"{os.path.join(output_dir, 'results.csv')}{kept}; fix the cause and continue "
              "with --resume.", file=sys.stderr)
        return 1
    if result is None:
        print(f"worker {args.worker_id}: done")
        return 0
    final = ", final_model.keras" if args.final_epochs else ""
    print(f"wrote {result.directory}/results.csv, summary.json, best_model.keras{final}, report.md "
          f"({time.time() - started:.0f} s)")
    return 0
