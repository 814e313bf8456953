from django.contrib import admin

from lobby.models import Lobby, Match, MatchParticipant, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Lobby)
class LobbyAdmin(admin.ModelAdmin):
    list_display = ["name", "game", "host", "status", "is_private", "max_players", "created_at"]
    list_filter = ["game", "status", "is_private"]
    search_fields = ["name", "code", "host__username"]
    raw_id_fields = ["host", "current_match"]
    inlines = [MembershipInline]


class ParticipantInline(admin.TabularInline):
    model = MatchParticipant
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["id", "game", "status", "reason", "ticks", "started_at", "ended_at"]
    list_filter = ["game", "status", "reason", "is_private"]
    search_fields = ["id", "participants__user__username"]
    readonly_fields = ["seed", "input_log", "final_hash"]
    inlines = [ParticipantInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "lobby", "ready", "joined_at"]
    list_filter = ["ready"]
    search_fields = ["user__username", "lobby__name"]
    raw_id_fields = ["user", "lobby"]
