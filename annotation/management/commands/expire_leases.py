from django.core.management.base import BaseCommand

from annotation.services.assignment import expire_leases


class Command(BaseCommand):
    help = "Mark leases past their term as expired (they already stopped counting; this keeps the records tidy)."

    def handle(self, *args, **options):
        self.stdout.write(f"{expire_leases()} lease(s) expired")
