"""python manage.py train_mpo --snapshot NAME | --data DIR --model PATH [--method mpo|dpo|simpo] [...]"""
import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Train MPO (or the DPO / SimPO baselines) on a snapshot's mpo export or an exported folder, "
            "recording a TrainingRun. Re-run with --resume ID to continue a crashed run from its last checkpoint.")

    def add_arguments(self, parser):
        from training.ml.cli import add_arguments

        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--snapshot", help="name of a DatasetSnapshot")
        source.add_argument("--data", help="an mpo export folder (save_to_disk or parquet) or the paper's .json")
        source.add_argument("--resume", type=int, metavar="RUN_ID", help="continue this run from its last checkpoint")
        parser.add_argument("--model", help="base model folder (required unless --resume)")
        parser.add_argument("--output-dir", default="", help="checkpoints and artefacts (default: per run)")
        add_arguments(parser)

    def handle(self, *args, **opts):
        # torch and the ML code load here, never when the web side imports the app
        from training.ml.cli import options_from_args
        from training.models import TrainingRun
        from training.services.runs import RunError, create_run, execute_run

        ns = _Namespace(opts)
        try:
            if opts["resume"]:
                run = TrainingRun.objects.filter(pk=opts["resume"]).first()
                if run is None:
                    raise CommandError(f"no training run {opts['resume']}")
            else:
                if not opts["model"]:
                    raise CommandError("--model is required")
                snapshot = None
                if opts["snapshot"]:
                    from annotation.models import DatasetSnapshot

                    snapshot = DatasetSnapshot.objects.filter(name=opts["snapshot"]).first()
                    if snapshot is None:
                        raise CommandError(f"no snapshot named {opts['snapshot']!r}")
                options = options_from_args(ns)
                options.update(lora_r=opts["lora_r"], eval_fraction=opts["eval_fraction"])
                run = create_run(base_model=opts["model"], method=opts["method"], snapshot=snapshot,
                                 data_path=opts["data"] or "", options={"options": options},
                                 output_dir=opts["output_dir"])
            self.stdout.write(f"training run {run.pk} ({run.method}) -> {run.output_dir}")
            run = execute_run(run, on_progress=self._progress)
        except RunError as exc:
            raise CommandError(str(exc)) from exc
        resumed = run.config.get("resumed_from")
        self.stdout.write(f"run {run.pk} {run.status}" + (f" (resumed from {resumed})" if resumed else ""))
        self.stdout.write(f"skipped rows: {json.dumps(run.config.get('skipped', {}))}; rows: "
                          f"{json.dumps(run.config.get('rows', {}))}")
        from training.services.reports import evaluation_table

        self.stdout.write(evaluation_table(run.evaluation))

    def _progress(self, step, values):
        keys = ("loss", "l1", "l2", "native", "gap/target", "gap/english_ref", "accuracy", "learning_rate")
        shown = "  ".join(f"{k}={values[k]:.4g}" for k in keys if k in values)
        if shown:
            self.stdout.write(f"step {step}  {shown}")


class _Namespace:
    """The command's options seen as the argparse namespace the ML cli helpers expect."""

    def __init__(self, opts):
        self.__dict__.update(opts)
