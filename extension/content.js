// Runs on the agency's HDE pages (registered by the service worker for those
// origins only). On a ticket page it adds a collapsible side panel that
// frames the portal's widget for that ticket; anything else (not signed in,
// a revoked token, an unknown ticket) is shown by the extension's own page
// in the same frame, so a token is never typed into the HDE page itself.
(() => {
  "use strict";
  if (window.__portalHdePanel) return;
  window.__portalHdePanel = true;

  const WIDTH = 420;
  const COLLAPSED_WIDTH = 34;
  const text = (key) => chrome.i18n.getMessage(key) || key;

  let lastUrl = null;
  let expiresAt = 0;
  let host = null;
  let parts = null;
  let collapsed = false;
  let savedMargin = null;

  const STYLE = `
    :host { all: initial; }
    .panel { position: fixed; top: 0; right: 0; bottom: 0; width: ${WIDTH}px; display: flex;
      flex-direction: column; background: #fff; border-left: 1px solid #d0d7de;
      box-shadow: -2px 0 8px rgba(0,0,0,.08); font: 13px/1.4 system-ui, sans-serif;
      color: #1f2328; z-index: 2147483647; }
    .panel.collapsed { width: ${COLLAPSED_WIDTH}px; }
    header { display: flex; align-items: center; gap: 6px; padding: 6px 8px;
      background: #f6f8fa; border-bottom: 1px solid #d0d7de; min-height: 22px; }
    .title { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
      flex: 1; }
    button, a.open { all: unset; cursor: pointer; padding: 2px 6px; border-radius: 4px;
      color: #0969da; font: inherit; }
    button:hover, a.open:hover { background: #eaeef2; }
    button:focus-visible, a.open:focus-visible { outline: 2px solid #0969da; }
    iframe { flex: 1; width: 100%; border: 0; background: #fff; }
    .collapsed header { flex-direction: column; height: 100%; padding: 6px 0; }
    .collapsed .title, .collapsed iframe, .collapsed a.open { display: none; }
    .collapsed .toggle { writing-mode: vertical-rl; padding: 8px 4px; }
  `;

  function build() {
    host = document.createElement("div");
    host.id = "portal-hde-panel";
    const shadow = host.attachShadow({mode: "open"});
    const style = document.createElement("style");
    style.textContent = STYLE;
    const panel = document.createElement("aside");
    panel.className = "panel";
    panel.setAttribute("role", "complementary");
    panel.setAttribute("aria-label", text("panelTitle"));
    const header = document.createElement("header");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = text("panelTitle");
    const open = document.createElement("a");
    open.className = "open";
    open.target = "_blank";
    open.rel = "noopener";
    open.textContent = "↗";
    open.title = text("openInTab");
    const toggle = document.createElement("button");
    toggle.className = "toggle";
    toggle.type = "button";
    toggle.addEventListener("click", () => {
      setCollapsed(!collapsed);
      chrome.runtime.sendMessage({type: "collapsed", collapsed}).catch(() => {});
    });
    const frame = document.createElement("iframe");
    frame.className = "portal-hde-frame";
    frame.title = text("panelTitle");
    header.append(title, open, toggle);
    panel.append(header, frame);
    shadow.append(style, panel);
    parts = {panel, open, toggle, frame, src: ""};
    document.documentElement.append(host);
  }

  function setCollapsed(value) {
    collapsed = value;
    parts.panel.classList.toggle("collapsed", collapsed);
    parts.toggle.textContent = collapsed ? "‹ " + text("panelTitle") : "›";
    parts.toggle.title = collapsed ? text("expand") : text("collapse");
    parts.toggle.setAttribute("aria-expanded", String(!collapsed));
    host.dataset.collapsed = String(collapsed);
    // Make room beside the page rather than covering its right edge.
    const root = document.documentElement.style;
    if (savedMargin === null) savedMargin = root.marginRight;
    root.marginRight = (collapsed ? COLLAPSED_WIDTH : WIDTH) + "px";
  }

  function remove() {
    if (!host) return;
    host.remove();
    host = null;
    parts = null;
    document.documentElement.style.marginRight = savedMargin || "";
    savedMargin = null;
  }

  function show(answer) {
    if (!host) {
      build();
      setCollapsed(Boolean(answer.collapsed));
    }
    let src;
    if (answer.url) {
      src = answer.url;
      expiresAt = Date.parse(answer.expiresAt) || 0;
    } else {
      const params = new URLSearchParams({code: answer.code || "unexpected",
                                          detail: answer.detail || "",
                                          ticket: String(answer.ticketId || "")});
      src = chrome.runtime.getURL("panel.html") + "?" + params;
      expiresAt = 0;
    }
    host.dataset.state = answer.url ? "widget" : (answer.code || "unexpected");
    parts.open.hidden = !answer.url;
    parts.open.href = answer.url || "#";
    if (parts.src !== src) {
      parts.src = src;
      parts.frame.src = src;
    }
  }

  async function check() {
    const url = location.href;
    if (url === lastUrl) return;
    lastUrl = url;
    let answer;
    try {
      answer = await chrome.runtime.sendMessage({type: "ticket", url});
    } catch (error) {
      return;  // the extension was reloaded or removed: leave the page alone
    }
    if (location.href !== url) return;  // the operator moved on meanwhile
    if (!answer || !answer.match) remove();
    else show(answer);
  }

  function recheck() {
    lastUrl = null;
    check();
  }

  // HDE's agent UI is a single-page app: follow its address changes.
  setInterval(check, 700);
  window.addEventListener("popstate", check);
  window.addEventListener("hashchange", check);
  // A link outlives no shift: ask again when the operator comes back to it.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && expiresAt && Date.now() > expiresAt - 60000) {
      recheck();
    }
  });
  chrome.runtime.onMessage.addListener((message) => {
    if (message && message.type === "refresh") recheck();
  });
  check();
})();
