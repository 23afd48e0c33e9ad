"use strict";
// Staff console: every call goes to the gateway's /v1 API with the token.
const CATEGORIES = [
  ["CATEGORY_REGISTRATION_TRANSFER", "社会保险费登记和关系转移"],
  ["CATEGORY_INFORMATION_EXCHANGE", "社会保险费登记信息传递"],
  ["CATEGORY_BASE_DECLARATION", "缴费基数申报"],
  ["CATEGORY_CONTRIBUTION_AMOUNT", "缴费金额"],
  ["CATEGORY_SPECIAL_ASSESSMENT", "特殊缴费应征金额核定"],
  ["CATEGORY_LATE_FEE", "滞纳金加收"],
  ["CATEGORY_REFUND_OFFSET", "退（抵）费"],
  ["CATEGORY_BENEFITS", "待遇核定和支付"],
  ["CATEGORY_INSPECTION_ARREARS", "征缴检查、欠费追缴"],
  ["CATEGORY_OTHER", "其它争议事项"],
];
const CHANNELS = [
  ["CHANNEL_WINDOW", "窗口来访"], ["CHANNEL_PHONE", "来电"], ["CHANNEL_HOTLINE_12345", "12345热线"],
  ["CHANNEL_PETITION", "信访"], ["CHANNEL_ONLINE", "网上"], ["CHANNEL_INTER_AGENCY", "部门移送"],
];
const STATES = {
  DISPUTE_STATE_REGISTERED: "已登记", DISPUTE_STATE_TRANSFERRED: "已流转", DISPUTE_STATE_HANDLING: "办理中",
  DISPUTE_STATE_AT_OFFICE: "在联席会议办公室", DISPUTE_STATE_JOINT_HANDLING: "联合办理",
  DISPUTE_STATE_AWAITING_APPROVAL: "待召集人审批", DISPUTE_STATE_AT_PLATFORM: "在一站式调处平台",
  DISPUTE_STATE_REPLIED: "已书面告知", DISPUTE_STATE_CLOSED: "已办结", DISPUTE_STATE_ARCHIVED: "已归档",
};
const label = (pairs, v) => (pairs.find(p => p[0] === v) || [v, v])[1];
const $ = sel => document.querySelector(sel);

function claims() {
  const t = localStorage.getItem("token");
  if (!t) return null;
  try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return null; }
}
const region = () => (claims() || {}).region || "141181";

async function api(method, path, body) {
  const res = await fetch(path, {
    method, headers: { "Authorization": "Bearer " + (localStorage.getItem("token") || ""), "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const fields = (data.details || []).flatMap(d => d.fieldViolations || []).map(v => `${v.field}：${v.description}`);
    throw new Error(`${res.status} ${data.message || res.statusText}${fields.length ? "\n" + fields.join("\n") : ""}`);
  }
  return data;
}

function show(page) {
  document.querySelectorAll("main > section").forEach(s => { s.hidden = s.id !== "page-" + page; });
}
document.querySelectorAll("nav button").forEach(b => b.addEventListener("click", () => show(b.dataset.page)));

function refreshWho() {
  const c = claims();
  $("#who").textContent = c ? `${c.region} · ${c.dept} · ${c.sub} · ${(c.roles || []).join("/")}` : "未登录";
  if (c) $("#reg-dept").value = c.dept;
}
$("#save-token").addEventListener("click", () => {
  localStorage.setItem("token", $("#token").value.trim());
  refreshWho();
  loadRosterOptions();
  show("register");
});

for (const [v, l] of CATEGORIES) $("#category").add(new Option(l, v));
for (const [v, l] of CHANNELS) $("#channel").add(new Option(l, v));

async function loadRosterOptions() {
  try {
    const { roster } = await api("GET", `/v1/regions/${region()}/roster`);
    for (const u of roster.units || []) $("#proposed").add(new Option(u.name, u.id));
    for (const j of roster.jurisdictions || []) $("#jurisdiction").add(new Option(j.name, j.code));
    return roster;
  } catch (e) { return null; }
}

$("#register-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const dispute = {
    claimant: { kind: f.get("kind"), name: f.get("name"), phone: f.get("phone"), idNumber: f.get("idNumber"), creditCode: f.get("creditCode") },
    complaint: f.get("complaint"), category: f.get("category"), channel: f.get("channel"), externalRef: f.get("externalRef"),
    registeringDepartment: f.get("registeringDepartment"), proposedDepartment: f.get("proposedDepartment"),
    jurisdiction: f.get("jurisdiction"), peopleInvolved: Number(f.get("peopleInvolved") || 0),
  };
  const out = $("#register-result");
  try {
    const res = await api("POST", `/v1/regions/${region()}/disputes`, { requestId: crypto.randomUUID(), dispute });
    out.className = "result";
    out.textContent = `登记成功：编号 ${res.dispute.number}\n${res.dispute.name}`;
  } catch (e) { out.className = "result error"; out.textContent = "登记失败：" + e.message; }
});

let nextToken = "";
async function loadList(token) {
  const q = new URLSearchParams({ pageSize: "20" });
  if (token) q.set("pageToken", token);
  const tbody = $("#list tbody");
  if (!token) tbody.innerHTML = "";
  try {
    const res = await api("GET", `/v1/regions/${region()}/disputes?${q}`);
    for (const d of res.disputes || []) {
      const tr = tbody.insertRow();
      for (const v of [d.number, d.claimant?.name, d.claimant?.phone, label(CATEGORIES, d.category), d.registeringDepartment,
        new Date(d.registerTime).toLocaleString("zh-CN")]) tr.insertCell().textContent = v || "";
    }
    nextToken = res.nextPageToken || "";
    $("#next-page").hidden = !nextToken;
  } catch (e) { tbody.insertRow().insertCell().textContent = "加载失败：" + e.message; }
}
$("#load-list").addEventListener("click", () => loadList(""));
$("#next-page").addEventListener("click", () => loadList(nextToken));

$("#lookup-go").addEventListener("click", async () => {
  const id = $("#lookup-id").value.trim();
  const name = `regions/${region()}/disputes/${id}`;
  try {
    const { tracking: t } = await api("GET", `/v1/${name}/tracking`);
    const clocks = (t.clocks || []).map(c => `${c.stage} 到期 ${new Date(c.dueTime).toLocaleString("zh-CN")}`).join("\n");
    $("#tracking").textContent = `编号 ${t.number}\n状态 ${STATES[t.state] || t.state}\n当前承办 ${t.holder}\n${clocks}`;
  } catch (e) { $("#tracking").textContent = "查询失败：" + e.message; }
  const ol = $("#dossier");
  ol.innerHTML = "";
  try {
    const { dossier } = await api("GET", `/v1/${name}/dossier`);
    for (const e of dossier.events || []) {
      const li = document.createElement("li");
      const who = e.actor ? `${e.actor.department || ""} ${e.actor.staffId || ""}` : "";
      li.textContent = `${new Date(e.time).toLocaleString("zh-CN")} ${e.type.split(".").pop()} ${who} ${e.reason || ""}`;
      ol.appendChild(li);
    }
  } catch (e) { ol.innerHTML = ""; ol.appendChild(document.createElement("li")).textContent = "案卷查询失败：" + e.message; }
});

// Printing: a plain link cannot carry the Authorization header, so the
// page is fetched with the token and opened from a Blob URL. The window is
// opened inside the click (so pop-up blockers allow it) and pointed at the
// page once it has arrived; print pages carry no script, so the console's
// Content-Security-Policy holds for them too.
async function openPrint(paper) {
  const id = $("#lookup-id").value.trim();
  const errBox = $("#print-error");
  errBox.hidden = true;
  if (!id) { errBox.textContent = "请先输入编号（如 2026-1）。"; errBox.hidden = false; return; }
  const win = window.open("", "_blank");
  try {
    const res = await fetch(`/print/regions/${region()}/disputes/${encodeURIComponent(id)}/${paper}`, {
      headers: { "Authorization": "Bearer " + (localStorage.getItem("token") || "") },
    });
    const html = await res.text();
    if (!res.ok) {
      const doc = new DOMParser().parseFromString(html, "text/html");
      const title = doc.querySelector("h1")?.textContent || res.statusText;
      const detail = doc.querySelector("h1 + p")?.textContent || "";
      throw new Error(`${res.status} ${title}${detail ? "：" + detail : ""}`);
    }
    const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
    if (win) { win.location.href = url; } else { window.open(url, "_blank"); }
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    if (win) win.close();
    errBox.textContent = "打印失败：" + e.message;
    errBox.hidden = false;
  }
}
document.querySelectorAll("#print-buttons button").forEach(b =>
  b.addEventListener("click", () => openPrint(b.dataset.print)));

$("#load-roster").addEventListener("click", async () => {
  const div = $("#roster");
  div.innerHTML = "";
  try {
    const { roster: r } = await api("GET", `/v1/regions/${region()}/roster`);
    const l = r.leadership || {};
    const p = document.createElement("p");
    p.textContent = `${r.regionName}　召集人：${l.convenor?.name || ""}（${l.convenor?.title || ""}）　联席会议办公室设在：${l.officeHostUnit || ""}`;
    div.appendChild(p);
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>代码</th><th>成员单位</th><th>负责人</th><th>受理部门</th></tr></thead>";
    const tb = table.createTBody();
    for (const u of r.units || []) {
      const tr = tb.insertRow();
      for (const v of [u.id, u.name, u.head, u.intakePoint ? "是" : "否"]) tr.insertCell().textContent = v || "";
    }
    div.appendChild(table);
  } catch (e) { div.textContent = "加载失败：" + e.message; }
});

refreshWho();
if (claims()) { loadRosterOptions(); show("register"); } else { show("login"); }
