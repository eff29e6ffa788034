from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from registry import selectors


@login_required
def home(request):
    """One summary per institution role: what that member needs to see first."""
    summary = selectors.home_summary(user=request.user, today=timezone.localdate())
    return render(request, "dashboards/home.html", {"summary": summary})
