from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from registry.views import two_factor as two_factor_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says. Not permanent: in production the static
    # file's name carries its hash, which changes with the icon. Lazy: the manifest is read on use.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"))),
    # Django admin's own login would take the password alone: it is the two-factor login too.
    path("admin/login/", two_factor_views.Login.as_view(), name="admin_login"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # The login takes the second factor of those who added one (registry.two_factor).
    path("accounts/login/", two_factor_views.Login.as_view(), name="login"),
    path("accounts/two-factor/", two_factor_views.manage, name="two_factor"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's settings as a script of their own: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("config.api_urls")),
    path("registry/", include("registry.urls")),
    path("ledger/", include("ledger.urls")),
    path("gateway/", include("gateway.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("calibration/", include("calibration.urls")),
    path("settlement/", include("settlement.urls")),
    path("subsidy/", include("subsidy.urls")),
    path("", include("dashboards.urls")),
]

# With DEBUG off, failures answer the API's error body under /api/ and a page in the
# site's layout elsewhere.
handler400 = "core.error_views.bad_request"
handler403 = "core.error_views.permission_denied"
handler404 = "core.error_views.page_not_found"
handler500 = "core.error_views.server_error"

admin.site.site_header = "pilechain"
admin.site.site_title = "pilechain"
