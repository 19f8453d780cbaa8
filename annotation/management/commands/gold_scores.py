from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from annotation.services.assignment import gold_scores


class Command(BaseCommand):
    help = "Per annotator: gold items judged, how many matched the known answer, and the accuracy."

    def handle(self, *args, **options):
        scores = gold_scores()
        names = dict(get_user_model().objects.filter(pk__in=scores).values_list("pk", "username"))
        for user_id, s in sorted(scores.items(), key=lambda kv: kv[1]["accuracy"]):
            self.stdout.write(f"{names[user_id]}\t{s['correct']}/{s['judged']}\t{s['accuracy']:.0%}")
