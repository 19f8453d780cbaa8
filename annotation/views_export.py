"""Download of a snapshot export as a zip, for curators (linked from the snapshot's admin page)."""
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET

from annotation.models import DatasetSnapshot
from annotation.services.export import FORMATS, ExportError, archive_name, export_archive


@require_GET
@staff_member_required
def download(request, name, fmt):
    if not request.user.has_perm("annotation.view_datasetsnapshot"):
        raise Http404  # staff without the curator permission see nothing
    if fmt not in FORMATS:
        raise Http404(f"unknown format; choose one of {', '.join(FORMATS)}")
    snapshot = get_object_or_404(DatasetSnapshot, name=name)
    try:
        archive = export_archive(snapshot, fmt)
    except ExportError as exc:  # e.g. no rows of this format: plain text, so nothing in it is read as HTML
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return FileResponse(archive, as_attachment=True, filename=archive_name(snapshot, fmt),
                        content_type="application/zip")


def download_links(snapshot):
    """HTML links to each format's download (escaped by format_html), for the admin."""
    return format_html_join(" · ", '<a href="{}">{}</a>', (
        (reverse("export_download", args=[snapshot.name, fmt]), fmt) for fmt in FORMATS))
