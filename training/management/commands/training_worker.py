"""A GPU node's worker: django-tasks' db_worker on one queue and one device, plus the dead-run watchdog."""
import os
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = ("Run training runs queued on QUEUE on DEVICE (e.g. cuda:0, cpu). Several workers on several machines may "
            "serve one queue: each run is taken by one of them. Also re-queues runs whose worker died.")

    def add_arguments(self, parser):
        parser.add_argument("--queue", default="default", help="Queue name to serve (TrainingRun.queue_name).")
        parser.add_argument("--device", default="", help="cuda:N to pin one GPU, or cpu; default: what torch finds.")
        parser.add_argument("--worker-id", default="", help="Name shown on the runs (default host:pid).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls of an empty queue.")
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty (for tests and cron).")

    def handle(self, *args, queue, device, worker_id, interval, batch, **options):
        if device.startswith("cuda:"):
            os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
        elif device == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if worker_id:
            os.environ["CROSSWALK_WORKER_ID"] = worker_id
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(stop,), daemon=True)
        watchdog.start()
        try:
            call_command("db_worker", queue_name=queue, interval=interval, batch=batch,
                         worker_id=(worker_id or f"{os.uname().nodename}-{os.getpid()}")[:64])
        finally:
            stop.set()

    def _watch(self, stop):
        from training.services.queue import reap_stale_runs

        try:
            while True:
                reaped = reap_stale_runs()
                if reaped:
                    self.stderr.write(f"re-queued or failed runs with no heartbeat: {reaped}")
                if stop.wait(settings.CROSSWALK["RUN_HEARTBEAT_SECONDS"]):
                    return
        finally:
            connection.close()
