"""Agreement between annotators: Krippendorff's alpha, agreement with the majority, gold accuracy, speed, skips.

The maths is in small pure functions (tested on hand-worked examples); the `*_agreement` / `annotator_stats`
functions read the judgements from the database and feed them in. Only annotated judgements count: an
imported source label is not an annotator.

Choices made here (and why):
- harmful/not: nominal alpha over every annotated label of a prompt.
- global/local: nominal alpha over the labels that said "harmful" (scope is only defined for those).
- categories (multi-label): one binary alpha per category over the labels that said "harmful" (category
  present or not), macro-averaged over the categories whose alpha is defined. Simpler to read than MASI
  distance and it says which category people disagree on.
- comparisons: nominal alpha on the best candidate ("none acceptable" is a value of its own), and pairwise
  preferences derived from each comparison (full ranking when given, else best > others > worst), reported
  as percent agreement over annotator pairs and as alpha over (set, pair) units.
- alpha is None when it is undefined (fewer than two pairable values, or no variation at all).
"""
from collections import Counter, defaultdict
from itertools import combinations
from statistics import median

from annotation.models import (
    AnnotatorLanguage, AnnotatorProfile, Assignment, Candidate, CandidateSet, Comparison, HarmLabel, Origin, Prompt,
)

NONE_ACCEPTABLE = "none"


# ----------------------------------------------------------------------------------------------- pure functions
def krippendorff_alpha_nominal(units) -> float | None:
    """Krippendorff's alpha for nominal data.

    `units` is an iterable of value lists, one list per unit (item) holding the values its coders gave; missing
    values are simply left out (None is ignored). Units with fewer than two values are not pairable and drop out.
    Computed from the coincidence matrix: alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k.
    """
    disagreeing = 0.0  # sum over c != k of o_ck
    totals = Counter()  # n_c
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        # Pairs of different values within the unit, each weighted 1/(m-1).
        disagreeing += (m * m - sum(c * c for c in counts.values())) / (m - 1)
        totals.update(counts)
    n = sum(totals.values())
    if n < 2:
        return None
    expected = n * n - sum(c * c for c in totals.values())  # sum over c != k of n_c n_k
    if expected == 0:
        return None
    return 1 - (n - 1) * disagreeing / expected


def coders_by_units_to_units(matrix):
    """Reliability data as rows of coders x columns of units (None = missing) -> one value list per unit."""
    return [list(column) for column in zip(*matrix)]


def majority(values):
    """The unique most frequent value, or None on a tie or with no values."""
    ranked = Counter(values).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def preferences(ranking, best, worst, positions):
    """Pairwise preferences one comparison implies: {(i, j) with i < j: winner position}.

    A full (or partial) ranking orders the candidates it names; otherwise best beats every other candidate
    and every other candidate beats worst. Pairs it says nothing about are left out.
    """
    prefs = {}
    if ranking:
        rank = {pos: r for r, pos in enumerate(ranking)}
        for i, j in combinations(sorted(positions), 2):
            if i in rank and j in rank:
                prefs[(i, j)] = i if rank[i] < rank[j] else j
        return prefs
    for i, j in combinations(sorted(positions), 2):
        if best in (i, j):
            prefs[(i, j)] = best
        elif worst in (i, j):
            prefs[(i, j)] = j if worst == i else i
    return prefs


def percent_agreement(units) -> float | None:
    """Share of agreeing pairs among all pairs of values given to the same unit."""
    agree = pairs = 0
    for unit in units:
        counts = Counter(v for v in unit if v is not None)
        m = sum(counts.values())
        pairs += m * (m - 1) // 2
        agree += sum(c * (c - 1) // 2 for c in counts.values())
    return agree / pairs if pairs else None


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


# ------------------------------------------------------------------------------------------------- from the DB
def _annotated_labels(prompts=None):
    labels = HarmLabel.objects.filter(origin=Origin.ANNOTATED)
    if prompts is not None:
        labels = labels.filter(prompt__in=prompts)
    return labels


def _label_rows(prompts=None):
    labels = _annotated_labels(prompts)
    rows = list(labels.values_list("pk", "prompt_id", "prompt__language__code", "annotator_id", "harmful",
                                   "harm_scope", "time_spent_ms"))
    categories = defaultdict(set)
    through = HarmLabel.categories.through
    for label_id, slug in through.objects.filter(harmlabel__in=labels).values_list("harmlabel_id",
                                                                                     "harmcategory__slug"):
        categories[label_id].add(slug)
    return rows, categories


def _label_metrics(rows, categories) -> dict:
    harmful, scope, cats = defaultdict(list), defaultdict(list), defaultdict(set)
    for pk, prompt_id, _lang, _annotator, is_harmful, harm_scope, _ms in rows:
        harmful[prompt_id].append(is_harmful)
        if is_harmful:
            scope[prompt_id].append(harm_scope)
            cats[prompt_id].add(pk)
    all_slugs = sorted({slug for pk_slugs in categories.values() for slug in pk_slugs})
    per_category = {}
    for slug in all_slugs:
        units = [[slug in categories.get(pk, ()) for pk in pks] for pks in cats.values()]
        per_category[slug] = krippendorff_alpha_nominal(units)
    return {
        "items": len(harmful),
        "labels": len(rows),
        "harmful_alpha": krippendorff_alpha_nominal(harmful.values()),
        "harmful_percent": percent_agreement(harmful.values()),
        "scope_alpha": krippendorff_alpha_nominal(scope.values()),
        "categories_alpha": _mean(per_category.values()),
        "categories_alpha_by_category": per_category,
    }


def label_agreement(prompts=None) -> dict:
    """Alpha for harmful/not, global/local and categories, overall and per language."""
    rows, categories = _label_rows(prompts)
    by_language = defaultdict(list)
    for row in rows:
        by_language[row[2]].append(row)
    return {"overall": _label_metrics(rows, categories),
            "by_language": {code: _label_metrics(r, categories) for code, r in sorted(by_language.items())}}


def _comparison_rows(candidate_sets=None):
    comparisons = Comparison.objects.filter(origin=Origin.ANNOTATED)
    if candidate_sets is not None:
        comparisons = comparisons.filter(candidate_set__in=candidate_sets)
    rows = list(comparisons.values_list("pk", "candidate_set_id", "candidate_set__prompt__language__code",
                                        "annotator_id", "best__position", "worst__position", "ranking",
                                        "none_acceptable", "time_spent_ms"))
    positions = defaultdict(list)
    for set_id, pos in Candidate.objects.filter(candidate_set__in={r[1] for r in rows}).values_list(
            "candidate_set_id", "position"):
        positions[set_id].append(pos)
    return rows, positions


def _best_value(best, none_acceptable):
    return NONE_ACCEPTABLE if best is None else best


def _comparison_metrics(rows, positions) -> dict:
    best, pairwise = defaultdict(list), defaultdict(list)
    for _pk, set_id, _lang, _annotator, best_pos, worst_pos, ranking, none_ok, _ms in rows:
        best[set_id].append(_best_value(best_pos, none_ok))
        for pair, winner in preferences(ranking, best_pos, worst_pos, positions[set_id]).items():
            pairwise[(set_id, *pair)].append(winner)
    return {
        "items": len(best),
        "comparisons": len(rows),
        "best_alpha": krippendorff_alpha_nominal(best.values()),
        "best_percent": percent_agreement(best.values()),
        "pairwise_alpha": krippendorff_alpha_nominal(pairwise.values()),
        "pairwise_percent": percent_agreement(pairwise.values()),
    }


def comparison_agreement(candidate_sets=None) -> dict:
    rows, positions = _comparison_rows(candidate_sets)
    by_language = defaultdict(list)
    for row in rows:
        by_language[row[2]].append(row)
    return {"overall": _comparison_metrics(rows, positions),
            "by_language": {code: _comparison_metrics(r, positions) for code, r in sorted(by_language.items())}}


def _leave_one_out(items):
    """items: {item: [(annotator, value)]} -> {annotator: [agrees with the others' majority?]} (ties skipped)."""
    result = defaultdict(list)
    for judgements in items.values():
        for annotator, value in judgements:
            others = majority([v for a, v in judgements if a != annotator])
            if others is not None:
                result[annotator].append(value == others)
    return result


def annotator_stats(annotator_ids=None) -> dict:
    """Per annotator: judgements, agreement with the majority of the others, gold accuracy, median seconds per
    judgement and skip rate. Keyed by user id."""
    label_rows, _ = _label_rows()
    comparison_rows, _ = _comparison_rows()

    scope_items, best_items = defaultdict(list), defaultdict(list)
    for _pk, prompt_id, _lang, annotator, _harmful, harm_scope, _ms in label_rows:
        scope_items[prompt_id].append((annotator, harm_scope))
    for _pk, set_id, _lang, annotator, best_pos, _w, _r, none_ok, _ms in comparison_rows:
        best_items[set_id].append((annotator, _best_value(best_pos, none_ok)))
    agrees = _leave_one_out(scope_items)
    for annotator, values in _leave_one_out(best_items).items():
        agrees[annotator].extend(values)

    gold_hits = defaultdict(list)
    prompt_gold = dict(Prompt.objects.filter(gold__isnull=False).values_list("pk", "gold"))
    for _pk, prompt_id, _lang, annotator, harmful, harm_scope, _ms in label_rows:
        gold = prompt_gold.get(prompt_id)
        if isinstance(gold, dict) and "harmful" in gold:
            gold_hits[annotator].append(gold["harmful"] == harmful
                                        and gold.get("harm_scope", harm_scope) == harm_scope)
    set_gold = dict(CandidateSet.objects.filter(gold__isnull=False).values_list("pk", "gold"))
    for _pk, set_id, _lang, annotator, best_pos, _w, _r, none_ok, _ms in comparison_rows:
        gold = set_gold.get(set_id)
        if isinstance(gold, dict) and "best" in gold:
            gold_hits[annotator].append(gold["best"] == _best_value(best_pos, none_ok))

    times = defaultdict(list)
    counts = Counter()
    for row in label_rows:
        counts[row[3]] += 1
        if row[6] is not None:
            times[row[3]].append(row[6])
    for row in comparison_rows:
        counts[row[3]] += 1
        if row[8] is not None:
            times[row[3]].append(row[8])

    # Skip rate: skipped among the assignments the annotator finished with (submitted, skipped or flagged).
    finished = Counter()
    skipped = Counter()
    done = [Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED, Assignment.Status.FLAGGED]
    for annotator, status in Assignment.objects.filter(status__in=done).values_list("annotator_id", "status"):
        finished[annotator] += 1
        skipped[annotator] += status == Assignment.Status.SKIPPED

    ids = set(counts) | set(finished) if annotator_ids is None else set(annotator_ids)
    stats = {}
    for uid in ids:
        stats[uid] = {
            "judgements": counts[uid],
            "majority_agreement": _mean(agrees.get(uid, [])),
            "majority_n": len(agrees.get(uid, [])),
            "gold_accuracy": _mean(gold_hits.get(uid, [])),
            "gold_n": len(gold_hits.get(uid, [])),
            "median_seconds": median(times[uid]) / 1000 if times.get(uid) else None,
            "skip_rate": skipped[uid] / finished[uid] if finished[uid] else None,
        }
    return stats


# ------------------------------------------------------------------------------------------- per-item summaries
def _opted_in(annotator_ids):
    """{user id: (country, [native language codes])} for annotators who opted in to sharing demographics."""
    info = {uid: (country or "?", []) for uid, country in AnnotatorProfile.objects.filter(
        user_id__in=annotator_ids, demographics_opt_in=True).values_list("user_id", "country")}
    natives = AnnotatorLanguage.objects.filter(profile__user_id__in=info, proficiency="native")
    for uid, code in natives.values_list("profile__user_id", "language__code"):
        info[uid][1].append(code)
    return info


def _split(judgements):
    """judgements: [(annotator, value)] -> overall split, and by country / native language of opted-in annotators."""
    info = _opted_in({a for a, _ in judgements if a is not None})
    by_country, by_language = defaultdict(Counter), defaultdict(Counter)
    not_shared = 0
    for annotator, value in judgements:
        if annotator in info:
            country, languages = info[annotator]
            by_country[country][value] += 1
            for code in languages or ["?"]:
                by_language[code][value] += 1
        else:
            not_shared += 1
    values = [v for _, v in judgements]
    counts = Counter(values)
    top = counts.most_common(1)[0][1] if counts else 0
    return {
        "n": len(values),
        "split": dict(counts.most_common()),
        "majority": majority(values),
        "agreement": top / len(values) if values else None,
        "by_country": {k: dict(v) for k, v in sorted(by_country.items())},
        "by_language": {k: dict(v) for k, v in sorted(by_language.items())},
        "not_shared": not_shared,
    }


def prompt_summary(prompt) -> dict:
    """The split of the annotators' judgements of one prompt (every judgement kept)."""
    labels = list(_annotated_labels().filter(prompt=prompt).prefetch_related("categories"))
    summary = _split([(label.annotator_id, label.harm_scope) for label in labels])
    summary["categories"] = dict(Counter(c.name for label in labels for c in label.categories.all()).most_common())
    return summary


def candidate_set_summary(candidate_set) -> dict:
    rows = Comparison.objects.filter(origin=Origin.ANNOTATED, candidate_set=candidate_set).values_list(
        "annotator_id", "best__position", "worst__position", "none_acceptable")
    rows = list(rows)
    summary = _split([(a, _best_value(best, none_ok)) for a, best, _w, none_ok in rows])
    summary["worst"] = dict(Counter(w for _a, _b, w, _n in rows if w is not None).most_common())
    return summary
