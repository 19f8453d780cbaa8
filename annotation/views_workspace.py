"""The annotator workspace: the queue page and the task views that htmx swaps in, one item after another.

Views stay thin: the assignment service decides what is leased, saved, skipped or refused. Each task view
answers htmx with the task partial (and the progress box out of band) and a plain request with the full page.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from annotation.forms_workspace import CompareForm, LabelForm, WritePromptForm
from annotation.models import Assignment, HarmCategory, HarmScope, Language
from annotation.services import assignment as svc
from annotation.services.assignment import LeaseError

KINDS = {"label", "compare"}
HARM_KEYS = {HarmScope.NONE: "n", HarmScope.GLOBAL: "g", HarmScope.LOCAL: "l"}


def _kind(value):
    return value if value in KINDS else None


@login_required
def queue(request):
    langs = Language.objects.filter(pk__in=svc.language_ids(request.user))
    return render(request, "annotation/workspace/queue.html", {
        "progress": svc.progress(request.user), "languages": langs,
        "leases": Assignment.objects.filter(annotator=request.user, status="leased").count(),
    })


def _task_context(request, a, *, form=None, next_kind=None, notice=None, error=None):
    ctx = {"a": a, "next_kind": next_kind or "", "notice": notice, "error": error,
           "progress": svc.progress(request.user, with_left=False)}
    if a is None:
        return ctx
    if a.kind == "label":
        prompt = a.prompt
        form = form or LabelForm()
        chosen = {str(v) for v in (form["categories"].value() or [])}
        ctx.update(item_prompt=prompt, form=form, selected_harm=form["harm"].value(), harm_choices=[
            (value, label, HARM_KEYS[value]) for value, label in form.fields["harm"].choices],
            categories=[(str(c.pk), c.name, str(i) if i <= 9 else "", str(c.pk) in chosen)
                        for i, c in enumerate(HarmCategory.objects.all(), start=1)])
    else:
        cs = a.candidate_set
        order = svc.shown_order(a)
        form = form or CompareForm(order=order)
        by_pos = {c.position: c for c in cs.candidates.all()}
        value = {name: form[name].value() for name in ("best", "worst", "harmful")}
        harmful = {str(v) for v in (value["harmful"] or [])}
        ctx.update(item_prompt=cs.prompt, candidate_set=cs, form=form, candidates=[
            {"n": n, "position": p, "text": by_pos[p].text, "best": str(value["best"]) == str(p),
             "worst": str(value["worst"]) == str(p), "harmful": str(p) in harmful}
            for n, p in enumerate(order, start=1)])
    return ctx


def _render_task(request, ctx, status=200):
    template = "annotation/workspace/_task.html" if request.htmx else "annotation/workspace/page.html"
    return render(request, template, ctx, status=status)


def _next(request, next_kind, **extra):
    a = svc.next_task(request.user, next_kind)
    return _render_task(request, _task_context(request, a, next_kind=next_kind, **extra))


@login_required
def workspace(request):
    """The page itself (and, for htmx, a fresh task): the current lease or a new one."""
    return _next(request, _kind(request.GET.get("kind")))


@login_required
@require_POST
def submit(request, pk):
    a = Assignment.objects.select_related("prompt__language", "candidate_set__prompt__language").filter(pk=pk).first()
    next_kind = _kind(request.POST.get("next_kind"))
    if a is None:
        return _next(request, next_kind, error=LeaseError.MESSAGES[LeaseError.NOT_YOURS])
    if a.kind == "label":
        form = LabelForm(request.POST)
    else:
        form = CompareForm(request.POST, order=svc.shown_order(a))
    if not form.is_valid():
        return _render_task(request, _task_context(request, a, form=form, next_kind=next_kind))
    save = svc.submit_label if a.kind == "label" else svc.submit_comparison
    try:
        save(request.user, a.pk, renew=request.POST.get("renew") == "1", **form.service_kwargs())
    except LeaseError as e:
        # Refused: the same form comes back with what was typed, and the reason.
        ctx = _task_context(request, a, form=form, next_kind=next_kind, error=e.message)
        ctx["can_renew"] = e.code == LeaseError.EXPIRED
        ctx["lease_refused"] = True
        return _render_task(request, ctx, status=200)
    return _next(request, next_kind, notice=_("Saved. Press u to undo."))


def _finish(request, pk, action, notice):
    next_kind = _kind(request.POST.get("next_kind"))
    note = request.headers.get("HX-Prompt") or request.POST.get("note", "")
    try:
        action(request.user, pk, note=note[:2000])
    except LeaseError as e:
        return _next(request, next_kind, error=e.message)
    return _next(request, next_kind, notice=notice)


@login_required
@require_POST
def skip(request, pk):
    return _finish(request, pk, svc.skip, _("Skipped."))


@login_required
@require_POST
def flag(request, pk):
    return _finish(request, pk, svc.flag, _("Thank you: the item is reported as broken."))


@login_required
@require_POST
def undo(request):
    next_kind = _kind(request.POST.get("next_kind"))
    try:
        undone = svc.undo(request.user)
    except LeaseError as e:
        return _next(request, next_kind, error=e.message)
    a = undone.assignment
    if a.kind == "label":
        form = LabelForm(initial=undone.answer)
    else:
        answer = dict(undone.answer)
        order = svc.shown_order(a)
        answer["ranking"] = " ".join(str(order.index(p) + 1) for p in answer["ranking"])
        form = CompareForm(initial=answer, order=order)
    return _render_task(request, _task_context(request, a, form=form, next_kind=next_kind,
                                               notice=_("Your last answer was withdrawn: change it and submit again.")))


@login_required
def write_prompt(request):
    langs = Language.objects.filter(pk__in=svc.language_ids(request.user))
    form = WritePromptForm(request.POST or None, languages=langs)
    if request.method == "POST" and form.is_valid():
        svc.write_prompt(request.user, form.cleaned_data["text"], form.cleaned_data["language"])
        messages.success(request, _("Thank you: your prompt is in the queue for other annotators."))
        return redirect("workspace-write")
    return render(request, "annotation/workspace/write.html", {"form": form, "languages": langs})
