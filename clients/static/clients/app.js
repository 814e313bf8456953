// The Skirmish browser client: lobbies, chat, quick play, matches, leaderboards and history.
// Plain ES modules, no build step. The socket authenticates with the session cookie.

import { Connection } from "./net.js";
import { h, clear, gameTitle, toast, SEAT_COLOURS } from "./dom.js";
import { ConnectFourView } from "./connect_four.js";
import { ArenaView } from "./arena.js";
import { GenericView } from "./generic.js";
import { LiveMatches, ReplayBar, renderLiveRows, tickLiveRows, watchersBadge } from "./watch.js";

const GAME_VIEWS = { connect_four: ConnectFourView, arena: ArenaView };
const GAME_OPTIONS = {
  connect_four: [{ key: "turn_seconds", label: "Seconds per turn", min: 3, max: 300, value: 30 }],
  arena: [
    { key: "time_seconds", label: "Match length (s)", min: 5, max: 900, value: 120 },
    { key: "score_limit", label: "Score limit (0: none)", min: 0, max: 1000, value: 25 },
  ],
};

const app = document.getElementById("app");
const scheme = location.protocol === "https:" ? "wss" : "ws";
const conn = new Connection(`${scheme}://${location.host}/ws/`);
window.skirmish = conn; // handy in the console and for tests

const state = {
  lobbies: new Map(),
  filter: { game: "", free: false, text: "" },
  lobby: null,
  chat: [],
  queue: null,
  ended: null,
  gameView: null,
  screen: null,
  live: new LiveMatches(),
  watching: null, // {match_id, code}: the live match I spectate (watched again after a reconnect)
  replayBar: null,
  replayFailed: null,
};

// ---- connection status --------------------------------------------------------------------

const statusEl = document.getElementById("conn-status");
function setStatus(text, kind) {
  statusEl.textContent = text;
  statusEl.dataset.state = kind;
}
conn.on("open", () => {
  setStatus("online", "online");
  state.lobby = null;
  conn.send({ type: "lobby.list.subscribe", game: state.filter.game || null, free_only: state.filter.free, rid: 0 });
  conn.send({ type: "match.list.subscribe", rid: 0 });
  if (conn.match?.replay && !conn.match.ended) {
    // The server does not keep a replay across sockets: say so rather than show a frozen board.
    conn.match = null;
    toast("The connection dropped and the replay stopped; start it again from your history.", "info");
  } else if (conn.match && conn.match.seat === null && !conn.match.ended && state.watching?.match_id === conn.match.match_id) {
    const msg = { type: "match.spectate", match_id: state.watching.match_id };
    if (state.watching.code) msg.code = state.watching.code;
    conn.request(msg).catch(() => { conn.match = null; state.watching = null; render(); }); // ended meanwhile
  }
  render();
});
conn.on("close", ({ fatal, code }) => {
  if (fatal && code === 4010) setStatus("signed in elsewhere", "offline");
  else if (fatal) setStatus("signed out", "offline");
  else setStatus("reconnecting…", "connecting");
});
conn.on("latency", (ms) => {
  if (conn.connected) setStatus(`online · ${ms} ms`, "online");
});
conn.on("error", (msg) => {
  if (msg.seq !== null && msg.seq !== undefined) return; // a refused input: the board shows the truth
  if (msg.code === "replay/mismatch" && conn.match?.replay) {
    state.replayFailed = msg.message;
    renderResult();
    return;
  }
  if (msg.rid === undefined || msg.rid === null || msg.rid === 0) toast(msg.message);
});

// ---- live matches -------------------------------------------------------------------------

conn.on("match.list", (msg) => {
  state.live.reset(msg.matches);
  renderLiveList();
});
conn.on("match.list.update", (msg) => {
  state.live.update(msg);
  renderLiveList();
});
setInterval(() => {
  const list = document.getElementById("live-list");
  if (list) tickLiveRows(list, state.live);
}, 1000);

// ---- lobby list ---------------------------------------------------------------------------

conn.on("lobby.list", (msg) => {
  state.lobbies = new Map(msg.lobbies.map((l) => [l.id, l]));
  if (state.screen === "lobbies") renderLobbyRows();
});
conn.on("lobby.list.update", (msg) => {
  if (msg.op === "remove") state.lobbies.delete(msg.lobby.id);
  else state.lobbies.set(msg.lobby.id, msg.lobby);
  if (state.screen === "lobbies") renderLobbyRows();
});

// ---- my lobby, chat, queue ----------------------------------------------------------------

conn.on("lobby.state", (msg) => {
  const entering = !state.lobby || state.lobby.id !== msg.lobby.id;
  if (entering) state.chat = [];
  state.lobby = msg.lobby;
  if (conn.match && conn.match.seat !== null && !msg.lobby.match_id && !state.ended) conn.match = null; // ended while away
  if (state.screen === "lobby" && !entering) updateLobby();
  else if (state.screen !== "leaderboard" && state.screen !== "history") render();
});
conn.on("lobby.left", (msg) => {
  if (msg.reason === "kicked") toast("The host removed you from the lobby");
  state.lobby = null;
  render();
});
conn.on("lobby.chat", (msg) => {
  state.chat.push(msg);
  if (state.chat.length > 200) state.chat.shift();
  appendChat(msg);
});
conn.on("queue.state", (msg) => {
  state.queue = msg.status === "queued" ? msg : null;
  if (state.screen === "lobbies") renderQueue();
});

// ---- matches ------------------------------------------------------------------------------

conn.on("match.started", (msg) => {
  const same = state.screen === "match" && state.shown === msg.match_id && !msg.replay; // my seat, restored
  state.ended = null;
  state.queue = null;
  state.replayFailed = null;
  if (msg.seat !== null || msg.replay) state.watching = null;
  if (!same) state.screen = null; // a new match (or a new replay of the same one): a fresh view
  render();
});
conn.on("view", (view) => {
  if (state.screen !== "match") render();
  state.gameView?.render(view);
  renderMatchBar(view);
});
conn.on("match.replay.state", (msg) => {
  if (conn.match?.replay && msg.match_id === conn.match.match_id) state.replayBar?.setState(msg);
});
conn.on("match.ended", (msg) => {
  state.ended = msg;
  if (state.screen === "match") renderResult();
});

// ---- routing ------------------------------------------------------------------------------

window.addEventListener("hashchange", () => render());

function route() {
  if (conn.match && (!state.ended || state.ended.match_id === conn.match.match_id)) return "match";
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash.startsWith("leaderboard")) return "leaderboard"; // reachable from a lobby too ("Play" goes back)
  if (hash.startsWith("history")) return "history";
  if (state.lobby) return "lobby";
  return "lobbies";
}

function render() {
  const screen = route();
  if (screen === state.screen && screen === "match") return;
  if (state.gameView) {
    state.gameView.destroy();
    state.gameView = null;
    state.replayBar = null;
  }
  state.screen = screen;
  const tab = screen === "lobby" ? "lobbies" : screen;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.screen === tab);
  clear(app);
  ({ lobbies: renderLobbies, lobby: renderLobby, match: renderMatch, leaderboard: renderLeaderboard, history: renderHistory })[screen]();
}

async function call(message) {
  try {
    return await conn.request(message);
  } catch (err) {
    toast(err.message || String(err));
    return null;
  }
}

function games() {
  return conn.games || Object.keys(GAME_VIEWS);
}

// ---- screen: lobbies ----------------------------------------------------------------------

function renderLobbies() {
  const gameSelect = h("select", { id: "filter-game", "aria-label": "Game" }, h("option", { value: "" }, "All games"),
    games().map((g) => h("option", { value: g, selected: state.filter.game === g }, gameTitle(g))));
  gameSelect.addEventListener("change", () => { state.filter.game = gameSelect.value; resubscribe(); renderLiveList(); });
  const free = h("input", { type: "checkbox", id: "filter-free", checked: state.filter.free });
  free.addEventListener("change", () => { state.filter.free = free.checked; resubscribe(); });
  const search = h("input", { type: "search", id: "filter-text", placeholder: "Search by name or host", value: state.filter.text });
  search.addEventListener("input", () => { state.filter.text = search.value; renderLobbyRows(); });

  const createForm = renderCreateForm();
  const codeInput = h("input", { id: "join-code", placeholder: "ABC123", maxlength: 6, autocomplete: "off", required: true, pattern: "[A-Za-z0-9]{6}" });
  const joinForm = h("form.row", { id: "join-form", onsubmit: (e) => { e.preventDefault(); call({ type: "lobby.join", code: codeInput.value.trim().toUpperCase() }); } },
    codeInput, h("button", { type: "submit" }, "Join"));

  app.append(
    h("section.grid", {},
      h("div.card.span2", {},
        h("div.card-head", {}, h("h2", {}, "Open lobbies"), h("span.muted", { id: "lobby-count" })),
        h("div.filters", {}, gameSelect, h("label.check", {}, free, " Free seats only"), search),
        h("ul.lobby-list", { id: "lobby-list" }),
        h("div.card-head.live-head", {}, h("h2", {}, h("span.live-dot", { "aria-hidden": "true" }), "Live matches"), h("span.muted", { id: "live-count" })),
        h("ul.live-list", { id: "live-list", "aria-live": "polite" })),
      h("div.stack", {},
        h("div.card", { id: "quick-play" }, h("h2", {}, "Quick play"), h("div", { id: "queue-box" })),
        h("div.card", {}, h("h2", {}, "Join by code"), joinForm),
        h("div.card", {}, h("h2", {}, "Watch a match"), watchForm()),
        h("div.card", {}, h("h2", {}, "Create a lobby"), createForm))));
  renderLobbyRows();
  renderLiveList();
  renderQueue();
}

function renderLiveList() {
  const list = document.getElementById("live-list");
  if (!list) return;
  const rows = state.live.sorted(state.filter.game);
  document.getElementById("live-count").textContent = rows.length ? `${rows.length} playing now` : "";
  renderLiveRows(list, rows, (row) => watch(row.match_id), conn.user?.id);
}

function watch(matchId, code = null) {
  const msg = { type: "match.spectate", match_id: matchId };
  if (code) msg.code = code;
  state.ended = null;
  state.watching = { match_id: matchId, code };
  return call(msg);
}

function replay(matchId, speed = 1) {
  state.ended = null;
  return call({ type: "match.replay", match_id: matchId, speed });
}

function resubscribe() {
  conn.request({ type: "lobby.list.subscribe", game: state.filter.game || null, free_only: state.filter.free }).catch(() => {});
}

function renderLobbyRows() {
  const list = document.getElementById("lobby-list");
  if (!list) return;
  const text = state.filter.text.trim().toLowerCase();
  const rows = [...state.lobbies.values()]
    .filter((l) => !state.filter.game || l.game === state.filter.game)
    .filter((l) => !state.filter.free || (l.status === "open" && l.players < l.max_players))
    .filter((l) => !text || l.name.toLowerCase().includes(text) || l.host.toLowerCase().includes(text))
    .sort((a, b) => b.id - a.id);
  document.getElementById("lobby-count").textContent = `${rows.length} shown`;
  clear(list);
  if (!rows.length) {
    list.append(h("li.empty", {}, "No lobbies match. Create one, or try quick play."));
    return;
  }
  for (const lobby of rows) {
    const full = lobby.players >= lobby.max_players;
    const canJoin = lobby.status === "open" && !full;
    list.append(h("li.lobby-row", { dataset: { lobbyId: lobby.id } },
      h("div.lobby-main", {}, h("strong.lobby-name", {}, lobby.name), h("span.muted", {}, ` ${gameTitle(lobby.game)} · host ${lobby.host}`)),
      h("span.badge", { dataset: { status: lobby.status } }, lobby.status === "in_match" ? "playing" : lobby.status),
      h("span.seats", {}, `${lobby.players}/${lobby.max_players}`),
      h("button.small", { type: "button", disabled: !canJoin, onclick: () => call({ type: "lobby.join", lobby_id: lobby.id }) }, "Join")));
  }
}

function renderQueue() {
  const box = document.getElementById("queue-box");
  if (!box) return;
  clear(box);
  if (state.queue) {
    const since = state.queue.since ? Math.round((Date.now() - state.queue.since) / 1000) : 0;
    box.append(h("p", { id: "queue-status" }, `Looking for a ${gameTitle(state.queue.game)} match… `, h("span.muted", {}, `${since}s`)),
      h("button.secondary", { type: "button", onclick: () => call({ type: "queue.leave" }) }, "Cancel"));
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(renderQueue, 1000);
    return;
  }
  box.append(h("p.muted", {}, "Get matched with players of your level."),
    h("div.row", {}, games().map((g) => h("button", { type: "button", dataset: { game: g }, onclick: () => call({ type: "queue.join", game: g }) }, gameTitle(g)))));
}

function watchForm() {
  const id = h("input", { id: "watch-id", placeholder: "match id", autocomplete: "off", required: true });
  const code = h("input", { id: "watch-code", placeholder: "code (private)", maxlength: 6, autocomplete: "off" });
  return h("form", { id: "watch-form", onsubmit: (e) => {
    e.preventDefault();
    watch(id.value.trim(), code.value.trim().toUpperCase() || null);
  } }, h("div.row", {}, id, code), h("button", { type: "submit", id: "watch-submit" }, "Watch"));
}

function renderCreateForm() {
  const name = h("input", { id: "create-name", required: true, maxlength: 40, value: `${conn.user?.name || "My"}'s table` });
  const game = h("select", { id: "create-game" }, games().map((g) => h("option", { value: g }, gameTitle(g))));
  const priv = h("input", { type: "checkbox", id: "create-private" });
  const opts = h("div.options");
  const renderOpts = () => {
    clear(opts).append(...(GAME_OPTIONS[game.value] || []).map((o) =>
      h("label", {}, o.label, h("input", { type: "number", name: o.key, min: o.min, max: o.max, value: o.value }))));
  };
  game.addEventListener("change", renderOpts);
  renderOpts();
  return h("form", {
    id: "create-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const options = {};
      for (const input of opts.querySelectorAll("input")) options[input.name] = Number(input.value);
      await call({ type: "lobby.create", name: name.value.trim(), game: game.value, private: priv.checked, options });
    },
  }, h("label", {}, "Name", name), h("label", {}, "Game", game), opts, h("label.check", {}, priv, " Private (join by code only)"),
  h("button", { type: "submit", id: "create-submit" }, "Create lobby"));
}

// ---- screen: my lobby ---------------------------------------------------------------------

function renderLobby() {
  const chatInput = h("input", { id: "chat-input", placeholder: "Say something…", maxlength: 200, autocomplete: "off" });
  const chatForm = h("form.row", { id: "chat-form", onsubmit: async (e) => {
    e.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    if (await call({ type: "lobby.chat", text })) chatInput.value = "";
  } }, chatInput, h("button", { type: "submit" }, "Send"));
  app.append(h("section.grid", {},
    h("div.card.span2", { id: "lobby-card" }),
    h("div.card.chat", {}, h("h2", {}, "Chat"), h("ul.chat-log", { id: "chat-log", "aria-live": "polite" }), chatForm)));
  for (const line of state.chat) appendChat(line);
  updateLobby();
}

function updateLobby() {
  const card = document.getElementById("lobby-card");
  const lobby = state.lobby;
  if (!card || !lobby) return;
  const me = conn.user?.id;
  const mine = lobby.members.find((m) => m.user.id === me);
  const amHost = lobby.host_id === me;
  const allReady = lobby.members.length >= 2 && lobby.members.every((m) => m.ready);
  const options = Object.entries(lobby.options || {}).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ");
  clear(card).append(
    h("div.card-head", {}, h("h2", { id: "lobby-name" }, lobby.name), h("span.badge", { dataset: { status: lobby.status } }, lobby.status)),
    h("p.muted", {}, `${gameTitle(lobby.game)} · ${lobby.members.length}/${lobby.max_players} players${options ? " · " + options : ""}`),
    lobby.code ? h("p", {}, "Join code ", h("code.join-code", { id: "lobby-code", title: "Click to copy", onclick: () => navigator.clipboard?.writeText(lobby.code) }, lobby.code)) : null,
    h("ul.members", { id: "members" }, lobby.members.map((m) => h("li", { dataset: { userId: m.user.id } },
      h("span.name", {}, m.user.name, m.host ? h("span.crown", { title: "host" }, " ★") : null, m.user.id === me ? h("span.muted", {}, " (you)") : null),
      h("span.badge", { dataset: { status: m.ready ? "ready" : "waiting" } }, m.ready ? "ready" : "not ready"),
      amHost && m.user.id !== me ? h("span.actions", {},
        h("button.small.secondary", { type: "button", onclick: () => call({ type: "lobby.host", user_id: m.user.id }) }, "Make host"),
        h("button.small.danger", { type: "button", onclick: () => call({ type: "lobby.kick", user_id: m.user.id }) }, "Kick")) : null))),
    h("div.row", {},
      h("button", { type: "button", id: "ready-btn", class: mine?.ready ? "secondary" : "", onclick: () => call({ type: "lobby.ready", ready: !mine?.ready }) }, mine?.ready ? "Not ready" : "Ready"),
      amHost ? h("button", { type: "button", id: "start-btn", disabled: !allReady, title: allReady ? "" : "Everyone must be ready", onclick: () => call({ type: "lobby.start" }) }, "Start match") : null,
      h("button.secondary", { type: "button", id: "leave-btn", onclick: async () => { if (await call({ type: "lobby.leave" })) { state.lobby = null; render(); } } }, "Leave")),
  );
}

function appendChat(msg) {
  const log = document.getElementById("chat-log");
  if (!log) return;
  const at = new Date(msg.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  log.append(h("li", {}, h("span.muted", {}, at + " "), h("strong", {}, msg.user.name + ": "), msg.text));
  log.scrollTop = log.scrollHeight;
}

// ---- screen: match ------------------------------------------------------------------------

function renderMatch() {
  const match = conn.match;
  state.shown = match.replay ? null : match.match_id;
  const players = h("ul.players", { id: "match-players" }, match.players.map((p) =>
    h("li", {}, h("span.swatch", { style: { background: SEAT_COLOURS[p.seat] } }), p.user.name, p.seat === match.seat ? h("span.muted", {}, " (you)") : null)));
  const board = h("div.board", { id: "game-root" });
  let top;
  if (match.replay) {
    state.replayBar = new ReplayBar((change) => call({ type: "match.replay.control", ...change }), () => leaveMatch());
    state.replayBar.tickRate = match.tick_rate;
    if (conn.replayState?.match_id === match.match_id) state.replayBar.setState(conn.replayState);
    top = state.replayBar.el;
  } else {
    top = h("p.muted.share", {}, match.seat === null ? "Match id " : "Spectators can watch with the match id ", h("code", { id: "match-id", title: "Click to copy", onclick: () => navigator.clipboard?.writeText(match.match_id) }, match.match_id),
      h("span", { id: "watchers-slot" }),
      match.seat === null ? h("button.small.secondary", { type: "button", id: "unwatch-btn", onclick: () => leaveMatch() }, "Stop watching") : null);
  }
  const delay = match.seat === null && !match.replay && match.spectator_delay ? h("span.badge", { title: "Spectators see this match later than its players" }, `${match.spectator_delay} s delay`) : null;
  app.append(h("section.match", { id: "match", dataset: { game: match.game, replay: String(Boolean(match.replay)) } },
    h("div.card-head", {}, h("h2", {}, gameTitle(match.game), match.replay ? h("span.muted", {}, " · replay") : null, " ", delay), h("span.muted", { id: "match-bar" }, "waiting for the first frame…")),
    top, players, board, h("div", { id: "result" })));
  const View = GAME_VIEWS[match.game] ?? GenericView; // a game without its own view: JSON state and inputs
  state.gameView = new View(board, conn);
  if (conn.view) {
    state.gameView.render(conn.view);
    renderMatchBar(conn.view);
  }
  if (state.ended) renderResult();
}

async function leaveMatch() {
  if (!conn.match?.ended) await call({ type: "match.unspectate" });
  conn.match = null;
  state.ended = null;
  state.watching = null;
  render();
}

function renderMatchBar(view) {
  const bar = document.getElementById("match-bar");
  if (!bar || !conn.match) return;
  if (conn.match.replay) {
    bar.textContent = `watching a replay · tick ${view.tick}`;
    state.replayBar?.progress(view.tick, conn.match.tick_rate);
    return;
  }
  const role = conn.match.seat === null ? "spectating" : `seat ${conn.match.seat + 1}`;
  bar.textContent = `${role} · tick ${view.tick} · ${conn.latency === null ? "–" : conn.latency + " ms"}`;
  const slot = document.getElementById("watchers-slot");
  const count = Number(view.doc.spectators || 0);
  if (slot && slot.dataset.count !== String(count)) {
    slot.dataset.count = String(count);
    clear(slot).append(watchersBadge(count));
  }
}

function renderResult() {
  const box = document.getElementById("result");
  if (box && state.replayFailed) {
    clear(box).append(h("div.result.card", { id: "result-card" }, h("h2", {}, "This replay cannot be shown"), h("p.muted", {}, state.replayFailed),
      h("button", { type: "button", id: "back-btn", onclick: () => leaveMatch() }, "Back")));
    return;
  }
  if (!box || !state.ended) return;
  const { outcome } = state.ended;
  const names = Object.fromEntries(conn.match.players.map((p) => [p.seat, p.user.name]));
  const mine = conn.match.seat;
  const won = mine !== null && outcome.winners.includes(mine);
  const headline = outcome.winners.length > 1 ? "It's a tie" : won ? "You won!" : `${names[outcome.winners[0]] ?? "Nobody"} won`;
  clear(box).append(h("div.result.card", { id: "result-card" },
    h("h2", {}, headline), h("p.muted", {}, `Ended: ${outcome.reason.replace(/_/g, " ")}`),
    h("ol", {}, Object.entries(outcome.placements).sort((a, b) => a[1] - b[1]).map(([seat, place]) =>
      h("li", {}, `${names[seat]} — place ${place}` + (outcome.scores[seat] !== undefined ? `, score ${outcome.scores[seat]}` : "")))),
    conn.match.replay ? h("div.row.center", {},
      h("button.secondary", { type: "button", id: "replay-again", onclick: () => replay(conn.match.match_id, state.replayBar?.state.speed || 1) }, "Watch again"),
      h("button", { type: "button", id: "back-btn", onclick: () => leaveMatch() }, "Back to history"))
      : h("button", { type: "button", id: "back-btn", onclick: () => { if (/^#\/?(history|leaderboard)/.test(location.hash)) location.hash = "#/"; leaveMatch(); } }, state.lobby ? "Back to the lobby" : "Back to lobbies")));
  if (conn.match.replay) state.replayBar?.ended();
  document.getElementById("unwatch-btn")?.remove(); // the result card's button takes over
}

// ---- screens: leaderboard and history -----------------------------------------------------

async function getJSON(url) {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).error?.message || `HTTP ${resp.status}`);
  return resp.json();
}

function renderLeaderboard() {
  const game = new URLSearchParams(location.hash.split("?")[1] || "").get("game") || games()[0];
  const table = h("tbody");
  app.append(h("section.card", { id: "leaderboard" },
    h("div.card-head", {}, h("h2", {}, "Leaderboard"),
      h("div.tabs", {}, games().map((g) => h("a", { href: `#/leaderboard?game=${g}`, class: g === game ? "active" : "" }, gameTitle(g))))),
    h("table", {}, h("thead", {}, h("tr", {}, ["#", "Player", "Rating", "Matches", "Wins"].map((c) => h("th", {}, c)))), table)));
  getJSON(`/api/leaderboards/${encodeURIComponent(game)}?page_size=50`)
    .then((body) => {
      if (!body.results.length) table.append(h("tr", {}, h("td", { colspan: 5 }, "No rated matches yet.")));
      for (const row of body.results) {
        table.append(h("tr", { class: row.user.id === conn.user?.id ? "me" : "" },
          h("td", {}, row.rank), h("td", {}, row.user.name), h("td", {}, Math.round(row.rating)), h("td", {}, row.matches), h("td", {}, row.wins)));
      }
    })
    .catch((err) => table.append(h("tr", {}, h("td", { colspan: 5 }, `Cannot load the leaderboard: ${err.message}`))));
}

function renderHistory() {
  const table = h("tbody");
  app.append(h("section.card", { id: "history" }, h("h2", {}, "Your matches"),
    h("table", {}, h("thead", {}, h("tr", {}, ["When", "Game", "Players", "Result", "Rating", ""].map((c) => h("th", {}, c)))), table)));
  const me = Number(document.body.dataset.userId);
  getJSON(`/api/players/${me}/matches?page_size=50`)
    .then((body) => {
      if (!body.results.length) table.append(h("tr", {}, h("td", { colspan: 6 }, "No matches yet. Go play one!")));
      for (const m of body.results) {
        const mine = m.participants.find((p) => p.user.id === me);
        const change = mine?.rating_change;
        table.append(h("tr", {},
          h("td", {}, new Date(m.started_at).toLocaleString()),
          h("td", {}, gameTitle(m.game)),
          h("td", {}, m.participants.map((p) => p.user.name).join(", ")),
          h("td", {}, m.status !== "finished" ? m.status : mine?.winner ? "won" : m.reason === "draw" ? "draw" : "lost", h("span.muted", {}, ` (${(m.reason || "").replace(/_/g, " ")})`)),
          h("td", { class: change > 0 ? "up" : change < 0 ? "down" : "" }, change === null || change === undefined ? "–" : (change > 0 ? "+" : "") + Math.round(change)),
          h("td.actions", {}, m.status === "finished" || m.status === "aborted"
            ? h("button.small.secondary.replay-btn", { type: "button", dataset: { matchId: m.id }, onclick: () => replay(m.id) }, "Watch replay") : null)));
      }
    })
    .catch((err) => table.append(h("tr", {}, h("td", { colspan: 6 }, `Cannot load your matches: ${err.message}`))));
}

// ---- start --------------------------------------------------------------------------------

setStatus("connecting…", "connecting");
render();
conn.open();
