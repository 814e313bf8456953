from django.contrib import admin

from game_server.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["hint", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "hint"]
    readonly_fields = ["key_hash", "hint", "created_at", "last_used_at"]
    raw_id_fields = ["user"]
