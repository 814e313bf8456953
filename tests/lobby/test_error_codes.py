"""Every error code the lobby raises is a documented wire code (game_server.protocol.ErrorCode)."""

from __future__ import annotations

import ast
from pathlib import Path

import lobby
from game_server.protocol import ErrorCode
from lobby import errors

LOBBY_DIR = Path(lobby.__file__).parent


def test_every_lobby_code_is_an_error_code():
    assert errors.CODES <= {code.value for code in ErrorCode}


def test_every_constant_in_lobby_errors_is_listed_in_codes():
    constants = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)}
    assert constants == errors.CODES


def test_every_error_raised_or_returned_by_lobby_names_a_code_from_lobby_errors():
    """LobbyError(...) and the views' _error(...) take their code from `errors.<NAME>`, never a literal."""
    checked = 0
    for path in LOBBY_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("LobbyError", "_error"):
                code = node.args[1] if node.func.id == "_error" else node.args[0]
                assert isinstance(code, ast.Attribute) and code.value.id == "errors", f"{path.name}:{node.lineno}"
                assert getattr(errors, code.attr) in errors.CODES, f"{path.name}:{node.lineno}"
                checked += 1
    assert checked >= 20
