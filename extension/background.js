// The service worker: the only part that talks to the portal and the only
// one that can read the token. Content scripts run inside the HDE page's
// renderer, so they get answers (a widget link, or why there is none), never
// the token; requests go from here, so the HDE page's CSP and CORS never
// apply (the manifest's host permissions cover the portal).
"use strict";

const SCRIPT_ID = "hde-panel";
const FETCH_TIMEOUT_MS = 15000;
const REFRESH_ALARM = "refresh-config";
// Real HDE's ticket page after the system's address (see README.md); the
// portal sends its own, which wins over this fallback.
const DEFAULT_PATTERN = "^/[a-z]{2}/ticket/list/filter/id/\\d+/ticket/(\\d+)(?:[/?#]|$)";
const STORED = ["portalUrl", "token", "agency", "sites", "ticketPattern", "patternOverride",
                "collapsed"];

// The token stays with extension pages and this worker.
chrome.storage.local.setAccessLevel({accessLevel: "TRUSTED_CONTEXTS"}).catch(() => {});

function stored() {
  return chrome.storage.local.get(STORED);
}

async function managed() {
  try {
    return await chrome.storage.managed.get(["portal_url", "ticket_pattern"]);
  } catch (error) {
    return {};  // no policy schema support, or nothing set
  }
}

function portalBase(text) {
  let url;
  try {
    url = new URL(String(text || "").trim());
  } catch (error) {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function patternUsable(text) {
  try {
    return new RegExp(text + "|").exec("").length === 2;  // exactly one group
  } catch (error) {
    return false;
  }
}

async function api(portalUrl, token, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  const headers = {"Accept": "application/json", "Authorization": "Bearer " + token};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(portalUrl + path, {
      method: body === undefined ? "GET" : "POST", headers, credentials: "omit",
      cache: "no-store", signal: controller.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    return {ok: false, code: "unreachable"};
  } finally {
    clearTimeout(timer);
  }
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = {};
  }
  if (response.ok) return {ok: true, data};
  const code = response.status === 401 ? "signed_out" : (data.code || "unexpected");
  return {ok: false, code, detail: typeof data.detail === "string" ? data.detail : ""};
}

// Content scripts only where the agency's HDE systems live (an install
// under a path prefix gets only that path).
async function registerPanel(sites) {
  const matches = [...new Set((sites || []).map((site) => site.url + "/*"))];
  const existing = await chrome.scripting.getRegisteredContentScripts({ids: [SCRIPT_ID]});
  if (existing.length) await chrome.scripting.unregisterContentScripts({ids: [SCRIPT_ID]});
  if (!matches.length) return;
  await chrome.scripting.registerContentScripts([{
    id: SCRIPT_ID, matches, js: ["content.js"], runAt: "document_idle",
    persistAcrossSessions: true,
  }]);
}

function configFields(data) {
  return {
    agency: String(data.agency || ""),
    sites: Array.isArray(data.sites) ? data.sites.filter(
      (site) => site && portalBase(site.url) && portalBase(site.origin)) : [],
    ticketPattern: patternUsable(data.ticket_pattern) ? data.ticket_pattern : DEFAULT_PATTERN,
  };
}

async function signIn(portalText, token) {
  const portalUrl = portalBase(portalText);
  token = String(token || "").trim();
  if (!portalUrl) return {ok: false, code: "bad_portal_url"};
  if (!token) return {ok: false, code: "no_token"};
  const answer = await api(portalUrl, token, "/api/v1/extension/config");
  if (!answer.ok) return answer;
  const fields = configFields(answer.data);
  await chrome.storage.local.set({portalUrl, token, ...fields});
  await registerPanel(fields.sites);
  return {ok: true, agency: fields.agency, sites: fields.sites};
}

// Sites change when the agency connects a shop: re-read now and then. A
// refused token keeps the panel where it was, so it can say "sign in again".
async function refreshConfig() {
  const state = await stored();
  if (!state.token || !state.portalUrl) return {ok: false, code: "signed_out"};
  const answer = await api(state.portalUrl, state.token, "/api/v1/extension/config");
  if (!answer.ok) return answer;
  const fields = configFields(answer.data);
  await chrome.storage.local.set(fields);
  await registerPanel(fields.sites);
  return {ok: true, agency: fields.agency, sites: fields.sites};
}

async function signOut() {
  await chrome.storage.local.remove(["token", "agency", "sites", "ticketPattern"]);
  await registerPanel([]);
  return {ok: true};
}

function ticketOf(url, sites, pattern) {
  let expression;
  try {
    expression = new RegExp(pattern);
  } catch (error) {
    return null;
  }
  const longestFirst = [...sites].sort((a, b) => b.url.length - a.url.length);
  for (const site of longestFirst) {
    if (url !== site.url && !["/", "?", "#"].some((c) => url.startsWith(site.url + c))) continue;
    const match = expression.exec(url.slice(site.url.length) || "/");
    if (match && /^\d{1,10}$/.test(match[1] || "")) return {site, ticketId: Number(match[1])};
    return null;
  }
  return null;
}

async function effectivePattern(state) {
  const policy = await managed();
  for (const candidate of [policy.ticket_pattern, state.patternOverride, state.ticketPattern]) {
    if (candidate && patternUsable(candidate)) return candidate;
  }
  return DEFAULT_PATTERN;
}

async function ticketPanel(url) {
  const state = await stored();
  const hit = ticketOf(url, state.sites || [], await effectivePattern(state));
  if (!hit) return {match: false};
  const base = {match: true, ticketId: hit.ticketId, collapsed: Boolean(state.collapsed)};
  if (!state.token || !state.portalUrl) return {...base, code: "signed_out"};
  const answer = await api(state.portalUrl, state.token, "/api/v1/extension/widget-url",
                           {page_url: url, ticket_id: hit.ticketId});
  if (!answer.ok) return {...base, code: answer.code, detail: answer.detail};
  const link = String(answer.data.url || "");
  // Only ever frame the portal itself.
  if (!link.startsWith(new URL(state.portalUrl).origin + "/")) {
    return {...base, code: "unexpected"};
  }
  return {...base, url: link, expiresAt: answer.data.expires_at,
          shop: String(answer.data.shop || "")};
}

async function status() {
  const state = await stored();
  const policy = await managed();
  return {
    ok: true, signedIn: Boolean(state.token), portalUrl: state.portalUrl || "",
    managedPortalUrl: portalBase(policy.portal_url) || "", agency: state.agency || "",
    sites: state.sites || [], portalPattern: state.ticketPattern || DEFAULT_PATTERN,
    patternOverride: state.patternOverride || "", managedPattern: policy.ticket_pattern || "",
  };
}

function fromExtensionPage(sender) {
  return sender.id === chrome.runtime.id && typeof sender.url === "string"
    && sender.url.startsWith(chrome.runtime.getURL(""));
}

function sameOrigin(a, b) {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch (error) {
    return false;
  }
}

async function refreshTab(sender) {
  if (sender.tab && sender.tab.id !== undefined) {
    await chrome.tabs.sendMessage(sender.tab.id, {type: "refresh"}).catch(() => {});
  }
}

async function handle(message, sender) {
  if (sender.id !== chrome.runtime.id || !message || typeof message !== "object") {
    return {ok: false, code: "unexpected"};
  }
  // From the content script in an HDE tab.
  if (message.type === "ticket") {
    const url = String(message.url || "");
    if (!sender.tab || !sameOrigin(url, sender.url || sender.tab.url || "")) {
      return {match: false};
    }
    return ticketPanel(url);
  }
  if (message.type === "collapsed") {
    await chrome.storage.local.set({collapsed: Boolean(message.collapsed)});
    return {ok: true};
  }
  // Everything else only from the extension's own pages (options, panel).
  if (!fromExtensionPage(sender)) return {ok: false, code: "unexpected"};
  switch (message.type) {
    case "status":
      return status();
    case "signin": {
      const answer = await signIn(message.portalUrl, message.token);
      if (answer.ok) await refreshTab(sender);
      return answer;
    }
    case "signout":
      return signOut();
    case "refresh":
      return refreshConfig();
    case "retry":
      await refreshTab(sender);
      return {ok: true};
    case "pattern": {
      const text = String(message.pattern || "").trim();
      if (text && !patternUsable(text)) return {ok: false, code: "bad_pattern"};
      await chrome.storage.local.set({patternOverride: text});
      return {ok: true};
    }
    default:
      return {ok: false, code: "unexpected"};
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  handle(message, sender).then(sendResponse, (error) => {
    console.error(error);
    sendResponse({ok: false, code: "unexpected"});
  });
  return true;  // answered asynchronously
});

// Alarms may not survive a browser restart: make sure the hourly one exists.
chrome.alarms.get(REFRESH_ALARM).then((alarm) => {
  if (!alarm) chrome.alarms.create(REFRESH_ALARM, {periodInMinutes: 60});
});

chrome.runtime.onInstalled.addListener(async (details) => {
  const state = await stored();
  if (state.token) {
    await registerPanel(state.sites);
  } else if (details.reason === "install") {
    chrome.runtime.openOptionsPage();
  }
});

chrome.runtime.onStartup.addListener(() => {
  refreshConfig().catch(() => {});
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === REFRESH_ALARM) refreshConfig().catch(() => {});
});

chrome.action.onClicked.addListener(() => chrome.runtime.openOptionsPage());
