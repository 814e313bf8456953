// Tiny DOM helpers: h() builds elements, text is always set as text (never as HTML).

export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = [el.className, value].filter(Boolean).join(" ");
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export const GAME_TITLES = { connect_four: "Connect Four", arena: "Arena" };

export function gameTitle(game) {
  return GAME_TITLES[game] || game.replace(/_/g, " ");
}

export const SEAT_COLOURS = ["#e5484d", "#f5b400", "#3e8ef7", "#30a46c", "#8e4ec6", "#f76808", "#12a594", "#d6409f"];

export function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div.toast." + kind, { role: "status" }, message);
  box.append(el);
  setTimeout(() => el.remove(), 4000);
}
