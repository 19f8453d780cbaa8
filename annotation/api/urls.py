"""/api/: the REST API, its OpenAPI schema and its browsable documentation (Swagger UI, served from static files)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from annotation.api import views
from training.api import TrainingRunViewSet

router = DefaultRouter()
router.register("languages", views.LanguageViewSet, basename="language")
router.register("harm-categories", views.HarmCategoryViewSet, basename="harmcategory")
router.register("prompts", views.PromptViewSet, basename="prompt")
router.register("candidate-sets", views.CandidateSetViewSet, basename="candidateset")
router.register("harm-labels", views.HarmLabelViewSet, basename="harmlabel")
router.register("comparisons", views.ComparisonViewSet, basename="comparison")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")
router.register("training-runs", TrainingRunViewSet, basename="trainingrun")

app_name = "api"
urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("auth/token/", views.ObtainTokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
