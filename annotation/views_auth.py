"""The login page with a rate limit (annotation/services/login_throttle.py)."""
from django.contrib.auth import views as auth_views
from django.utils.translation import gettext as _

from annotation.services import login_throttle


class ThrottledLoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username, ip = request.POST.get("username", ""), login_throttle.client_ip(request)
        if login_throttle.is_locked(username, ip):
            # Bound without the password, so that the form never reaches authenticate(); only our error shows.
            form = self.get_form_class()(request, data={"username": username})
            form.is_valid()
            form.errors.clear()
            form.add_error(None, _("Too many failed logins. Wait a few minutes and try again."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            login_throttle.reset(username, ip)
        else:
            login_throttle.record_failure(username, ip)
        return response
