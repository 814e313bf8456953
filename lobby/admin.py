"""Every lobby model in the Django admin, with list filters and search."""

from django.contrib import admin

from lobby.models import Lobby, Match, MatchParticipant, Membership, QueueEntry, Rating


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Lobby)
class LobbyAdmin(admin.ModelAdmin):
    list_display = ["name", "game", "host", "status", "is_private", "max_players", "code", "created_at"]
    list_filter = ["game", "status", "is_private", "created_at"]
    search_fields = ["name", "code", "host__username", "memberships__user__username"]
    raw_id_fields = ["host", "current_match"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]


class ParticipantInline(admin.TabularInline):
    model = MatchParticipant
    extra = 0
    raw_id_fields = ["user"]
    readonly_fields = ["rating_before", "rating_after"]


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["id", "game", "mode", "status", "reason", "ticks", "is_private", "started_at", "ended_at"]
    list_filter = ["game", "mode", "status", "reason", "is_private", "started_at"]
    search_fields = ["id", "participants__user__username", "lobby__name"]
    readonly_fields = ["seed", "input_log", "final_hash"]
    raw_id_fields = ["lobby"]
    date_hierarchy = "started_at"
    inlines = [ParticipantInline]


@admin.register(MatchParticipant)
class MatchParticipantAdmin(admin.ModelAdmin):
    list_display = ["match", "user", "seat", "placement", "score", "is_winner", "rating_before", "rating_after"]
    list_filter = ["is_winner", "match__game", "match__mode", "match__status", "placement"]
    search_fields = ["user__username", "match__id"]
    raw_id_fields = ["match", "user"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "lobby", "ready", "joined_at"]
    list_filter = ["ready", "lobby__game", "lobby__status"]
    search_fields = ["user__username", "lobby__name", "lobby__code"]
    raw_id_fields = ["user", "lobby"]


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ["user", "game", "skill", "enqueued_at"]
    list_filter = ["game", "enqueued_at"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["user", "game", "rating", "mu", "sigma", "matches", "wins", "updated_at"]
    list_filter = ["game", "updated_at"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["rating"]
