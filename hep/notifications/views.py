"""The inbox, notification settings and this device's push subscription, for everyone signed in.

The inbox works with no push at all; push is an extra a person turns on from a tap.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from hep.access import admin_required, own_row_or_404
from hep.db import get_session
from hep.forms import FormResult, parse_form, validate
from hep.models import Notification, PushSubscription
from hep.notifications import service
from hep.notifications.schemas import (
    EndpointIn,
    NotificationSettings,
    SubscriptionIn,
    endpoint_allowed,
)
from hep.offline import BACKGROUND_HEADER
from hep.push import vapid_public_key
from hep.timeutil import utcnow
from hep.web import render

bp = Blueprint("notifications", __name__)


def kind_labels() -> dict[str, str]:
    return {
        "session_reminder": _("Exercise reminders, at your reminder time on exercise days"),
        "missed_sessions": _("A gentle nudge after missed days"),
        "morning_checkin": _("The morning question: how do you feel after exercising?"),
        "program_updated": _("News when your therapist changes your exercises"),
        "red_flag": _("Red flags: a patient stopped with a warning sign"),
        "pain_alert": _("Pain alerts"),
        "progression_ready": _("Progression suggestions to review"),
        "daily_digest": _("A daily summary each morning (numbers only)"),
    }


def kind_options(role: str) -> list[tuple[str, str]]:
    labels = kind_labels()
    return [(kind, labels[kind]) for kind in service.kinds_for(role)]


@bp.app_context_processor
def _inbox_count():
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            try:
                count = service.unread_count(get_session(), utcnow(), current_user.id)
            except SQLAlchemyError:  # an error page about the database still renders
                current_app.logger.warning("Unread count unavailable", exc_info=True)
                count = 0
            g.unread_notifications = count
        return g.unread_notifications

    return {"unread_notifications": unread_notifications}


# --- Inbox ----------------------------------------------------------------------------------


@bp.get("/inbox")
@login_required
def inbox():
    items = service.inbox(get_session(), utcnow(), current_user.id)
    return render(
        "notifications/inbox.html", partial="notifications/_inbox_items.html", items=items
    )


@bp.get("/inbox/<int:notification_id>")
@login_required
def open_notification(notification_id: int):
    db = get_session()
    now = utcnow()
    notification = own_row_or_404(db, Notification, notification_id)
    if notification.scheduled_for > now:
        abort(404)
    service.mark_read(db, now, notification)
    db.commit()
    return redirect(service.safe_target(notification.url))


@bp.post("/inbox/read")
@login_required
def mark_all_read():
    db = get_session()
    service.mark_all_read(db, utcnow(), current_user.id)
    db.commit()
    flash(_("All messages are marked as read."))
    return redirect(url_for("notifications.inbox"))


# --- Settings -------------------------------------------------------------------------------


def _settings_page(form: FormResult, status: int = 200):
    db = get_session()
    devices = service.devices(db, current_user.id)
    return render(
        "notifications/settings.html",
        form=form,
        devices=[(d, service.endpoint_hash(d.endpoint)) for d in devices],
        kind_options=kind_options(current_user.role),
        vapid_key=vapid_public_key(current_app),
        status=status,
    )


@bp.get("/settings/notifications")
@login_required
def settings():
    user = current_user.row
    optouts = set(user.notification_optouts or ())
    values = {
        "quiet_hours_start": user.quiet_hours_start.strftime("%H:%M")
        if user.quiet_hours_start
        else "",
        "quiet_hours_end": user.quiet_hours_end.strftime("%H:%M") if user.quiet_hours_end else "",
        "kinds": [k for k in service.kinds_for(user.role) if k not in optouts],
    }
    return _settings_page(FormResult(values=values))


@bp.post("/settings/notifications")
@login_required
def save_settings():
    form = parse_form(NotificationSettings, request.form, lists=("kinds",))
    if form.ok:
        data = form.data
        if set(data.kinds) - set(service.kinds_for(current_user.role)):
            form.add_error("kinds", _("Choose from the list"))
        elif (data.quiet_hours_start is None) != (data.quiet_hours_end is None):
            missing = "quiet_hours_start" if data.quiet_hours_start is None else "quiet_hours_end"
            form.add_error(missing, _("Enter both times, or leave both empty"))
        elif data.quiet_hours_start is not None and data.quiet_hours_start == data.quiet_hours_end:
            form.add_error("quiet_hours_end", _("Quiet hours must end at a different time"))
    if not form.ok:
        return _settings_page(form, status=422)
    db = get_session()
    service.save_preferences(
        db, current_user.row, data.quiet_hours_start, data.quiet_hours_end, data.kinds
    )
    db.commit()
    flash(_("Your settings are saved."))
    return redirect(url_for("notifications.settings"))


@bp.post("/settings/notifications/devices/<int:subscription_id>/remove")
@login_required
def remove_device(subscription_id: int):
    db = get_session()
    device = own_row_or_404(db, PushSubscription, subscription_id)
    db.delete(device)
    db.commit()
    flash(_("That device will not get reminders any more."))
    return redirect(url_for("notifications.settings"))


# --- This device's subscription (JSON, sent by static/js/push.js) ----------------------------


def _json_errors(errors: dict[str, str]):
    return jsonify(errors=errors), 422


@bp.post("/push/subscriptions")
@login_required
def subscribe():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _json_errors({"__all__": _("Send the subscription as JSON")})
    data, errors = validate(SubscriptionIn, payload)
    config = current_app.config
    allow_any = config.get("PUSH_ALLOW_ANY_ENDPOINT", current_app.testing)
    hosts = config.get("PUSH_ENDPOINT_HOSTS")
    if data is not None and not endpoint_allowed(data.endpoint, hosts, allow_any):
        errors = {"endpoint": _("This browser's push service is not one HEP can use")}
    if errors:
        return _json_errors(errors)
    db = get_session()
    if data.replaces and data.replaces != data.endpoint:
        service.forget_device(db, current_user.id, data.replaces)
    device = service.save_subscription(
        db,
        utcnow(),
        current_user.id,
        data.endpoint,
        data.keys.p256dh,
        data.keys.auth,
        service.device_label(request.user_agent.string),
    )
    db.commit()
    if not request.headers.get(BACKGROUND_HEADER):  # the worker renewing it: no page to tell
        if current_user.is_patient:
            flash(_("Reminders are on for this device."))
        else:
            flash(_("Notifications are on for this device."))
    return jsonify(id=device.id, device=device.device_label), 201


@bp.post("/push/subscriptions/remove")
@login_required
def unsubscribe():
    data, errors = validate(EndpointIn, request.get_json(silent=True) or {})
    if errors:
        return _json_errors(errors)
    db = get_session()
    service.forget_device(db, current_user.id, data.endpoint)
    db.commit()
    if current_user.is_patient:
        flash(_("Reminders are off for this device."))
    else:
        flash(_("Notifications are off for this device."))
    return jsonify(removed=True)


# --- The clinic admin's view ----------------------------------------------------------------


@bp.get("/admin/notifications")
@admin_required
def problems():
    rows = service.delivery_problems(get_session(), current_user.clinic_id)
    return render("notifications/problems.html", rows=rows, labels=kind_labels())
