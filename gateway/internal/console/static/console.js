"use strict";
// Staff console: every call goes to the gateway's /v1 API with the token.
// All text coming from the API is put on the page with textContent (never
// as HTML), so nothing a claimant or another department typed can run here.

// ---------------------------------------------------------------------------
// Labels

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
const STAGES = {
  STAGE_ROUTING: "分类流转", STAGE_TRANSFER_RECEIPT: "签收", STAGE_HANDLING: "办理",
  STAGE_OPINION: "会办意见", STAGE_APPROVAL: "召集人审批",
  STAGE_TRIAGE: "梳理分类", STAGE_PLATFORM: "平台调处", STAGE_REPLY: "答复时限",
};
const REMEDIES = [
  ["REMEDY_MEDIATION", "调解"],
  ["REMEDY_ADMINISTRATIVE_RECONSIDERATION", "行政复议"],
  ["REMEDY_ARBITRATION", "仲裁"],
  ["REMEDY_ADMINISTRATIVE_LITIGATION", "行政诉讼"],
  ["REMEDY_REVIEW_REQUEST", "信访复查"],
];
const ROUTE_REASONS = {
  OWN_DUTY: "本单位职责", OTHER_DUTY: "属其他部门职责", SEVERAL_DEPARTMENTS: "需多部门共同办理", DUTY_UNCLEAR: "职责不清",
};
const CLOSE_CAUSES = {
  withdrawn: "诉求人撤回", objection: "诉求人提出异议", objection_window_ended: "异议期满",
  closed_by_holder: "承办部门办结",
};
// gRPC status codes as the gateway returns them in the error body.
const CODES = {
  1: "请求已取消", 2: "服务内部错误", 3: "填写有误", 4: "处理超时", 5: "未找到", 6: "已存在",
  7: "无权办理", 8: "请求过于频繁", 9: "当前状态不允许此操作", 10: "办理进度已被他人更新", 11: "超出范围",
  12: "不支持的操作", 13: "服务内部错误", 14: "服务暂不可用", 16: "未登录或令牌已失效",
};
// Delivery methods of the written reply (送达方式).
const DELIVERY_METHODS = [
  ["DELIVERY_METHOD_DIRECT", "直接送达"], ["DELIVERY_METHOD_MAIL", "邮寄送达"], ["DELIVERY_METHOD_ELECTRONIC", "电子送达"],
  ["DELIVERY_METHOD_LEFT", "留置送达"], ["DELIVERY_METHOD_ENTRUSTED", "委托送达"], ["DELIVERY_METHOD_PUBLIC_NOTICE", "公告送达"],
];

// Request fields as named in field violations.
const FIELDS = {
  opinion: "流转意见", target_department: "接收部门", targetDepartment: "接收部门", reason_code: "理由",
  kind: "流转方式", reason: "理由", text: "内容", outcome: "办理结果", remedies: "救济途径", remedy: "救济途径",
  days: "延期天数", comment: "说明", note: "记录", etag: "版本", name: "编号", page_token: "分页标记",
  due_within_days: "临期范围", parent: "部门",
  method: "送达方式", delivery_date: "送达日期", recipient: "签收人",
  "dispute.visit_time": "来访时间", "dispute.delivery_address": "送达地址",
  "dispute.employer_name": "用人单位名称", "dispute.employer_credit_code": "用人单位统一社会信用代码",
};

const label = (pairs, v) => (pairs.find(p => p[0] === v) || [v, v])[1];
const $ = sel => document.querySelector(sel);
const fmtTime = t => t ? new Date(t).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "";

// ---------------------------------------------------------------------------
// Token and API

function claims() {
  const t = localStorage.getItem("token");
  if (!t) return null;
  try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return null; }
}
const region = () => (claims() || {}).region || "141181";
const hasRole = (...roles) => ((claims() || {}).roles || []).some(r => roles.includes(r));

// ApiError is a refused request with what the API said about it.
class ApiError extends Error {
  constructor(status, data) {
    super(data.message || "");
    this.status = status;
    this.code = data.code;
    const details = data.details || [];
    this.violations = details.flatMap(d => d.fieldViolations || []);
    this.reason = (details.find(d => d.reason) || {}).reason || "";
  }
  // describe is the error as staff read it: what kind of refusal, the
  // server's message, each field at fault and the reason code.
  describe() {
    // State names in the server's message are shown as staff know them.
    const msg = this.message.replace(/DISPUTE_STATE_[A-Z_]+/g, s => STATES[s] ? `「${STATES[s]}」` : s);
    const lines = [`${CODES[this.code] || "请求失败"}（HTTP ${this.status}）${msg ? "：" + msg : ""}`];
    for (const v of this.violations) lines.push(`· ${FIELDS[v.field] ? FIELDS[v.field] + "（" + v.field + "）" : v.field}：${v.description}`);
    if (this.reason && this.reason !== "INVALID_ARGUMENT") lines.push(`原因代码：${this.reason}`);
    if (this.code === 10) lines.push("已重新加载办理进度，请核对后重试。");
    return lines.join("\n");
  }
}
const describe = e => e instanceof ApiError ? e.describe() : String(e.message || e);

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method, headers: { "Authorization": "Bearer " + (localStorage.getItem("token") || ""), "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) { throw new Error("无法连接服务：" + e.message); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, { message: res.statusText, ...data });
  return data;
}

// ---------------------------------------------------------------------------
// DOM helpers (text only)

function cells(tr, values) {
  for (const v of values) {
    const td = tr.insertCell();
    if (v instanceof Node) td.appendChild(v); else td.textContent = v == null ? "" : String(v);
  }
  return tr;
}
function headCells(tr, labels) {
  for (const l of labels) {
    const th = document.createElement("th");
    th.textContent = l;
    tr.appendChild(th);
  }
}
function span(text, cls) {
  const s = document.createElement("span");
  s.textContent = text;
  if (cls) s.className = cls;
  return s;
}
function definitions(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === "" || v == null) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    if (v instanceof Node) dd.appendChild(v); else dd.textContent = String(v);
    dl.append(dt, dd);
  }
}
function showError(el, text) { el.textContent = text; el.hidden = !text; }

// ---------------------------------------------------------------------------
// Pages

function show(page) {
  document.querySelectorAll("main > section").forEach(s => { s.hidden = s.id !== "page-" + page; });
  document.querySelectorAll("nav button").forEach(b => b.classList.toggle("active", b.dataset.page === page));
  if (page === "worklist") loadWorklist("");
}
document.querySelectorAll("nav button").forEach(b => b.addEventListener("click", () => show(b.dataset.page)));

// ---------------------------------------------------------------------------
// Roster (cached: department names for every page)

let roster = null;
const deptName = id => {
  if (!id) return "";
  const u = ((roster || {}).units || []).find(u => u.id === id);
  return u ? u.name : id;
};
const actorText = a => a ? [deptName(a.department), a.staffId].filter(Boolean).join(" ") : "";

function fillSelect(sel, options, keepFirst) {
  while (sel.options.length > (keepFirst ? 1 : 0)) sel.remove(sel.options.length - 1);
  for (const [v, l] of options) sel.add(new Option(l, v));
}

async function loadRosterOptions() {
  try {
    ({ roster } = await api("GET", `/v1/regions/${region()}/roster`));
  } catch (e) { return null; }
  const units = (roster.units || []).map(u => [u.id, u.name]);
  fillSelect($("#proposed"), units, true);
  fillSelect($("#jurisdiction"), (roster.jurisdictions || []).map(j => [j.code, j.name]), true);
  fillSelect($("#act-route [name=targetDepartment]"), units, false);
  fillWorklistDepartments();
  refreshWho();
  return roster;
}

// ---------------------------------------------------------------------------
// Login

function refreshWho() {
  const c = claims();
  $("#who").textContent = c ? `${c.region} · ${deptName(c.dept)} · ${c.sub} · ${(c.roles || []).join("/")}` : "未登录";
  if (c) $("#reg-dept").value = c.dept;
}
$("#save-token").addEventListener("click", () => {
  localStorage.setItem("token", $("#token").value.trim());
  roster = null;
  refreshWho();
  fillWorklistDepartments();
  loadRosterOptions();
  show("register");
});

// ---------------------------------------------------------------------------
// Registration

for (const [v, l] of CATEGORIES) $("#category").add(new Option(l, v));
for (const [v, l] of CHANNELS) $("#channel").add(new Option(l, v));

$("#register-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const dispute = {
    claimant: { kind: f.get("kind"), name: f.get("name"), phone: f.get("phone"), idNumber: f.get("idNumber"), creditCode: f.get("creditCode") },
    complaint: f.get("complaint"), category: f.get("category"), channel: f.get("channel"), externalRef: f.get("externalRef"),
    registeringDepartment: f.get("registeringDepartment"), proposedDepartment: f.get("proposedDepartment"),
    jurisdiction: f.get("jurisdiction"), peopleInvolved: Number(f.get("peopleInvolved") || 0),
    employerName: f.get("employerName"), employerCreditCode: f.get("employerCreditCode"),
    deliveryAddress: f.get("deliveryAddress"),
  };
  // datetime-local is the browser's local time; the API takes an instant.
  if (f.get("visitTime")) dispute.visitTime = new Date(f.get("visitTime")).toISOString();
  const out = $("#register-result");
  try {
    const res = await api("POST", `/v1/regions/${region()}/disputes`, { requestId: crypto.randomUUID(), dispute });
    out.className = "result";
    out.textContent = `登记成功：编号 ${res.dispute.number}\n${res.dispute.name}`;
  } catch (e) { out.className = "result error"; out.textContent = "登记失败：" + describe(e); }
});

// ---------------------------------------------------------------------------
// Dispute list

const shortId = name => (name || "").split("/").pop();

let nextToken = "";
async function loadList(token) {
  const q = new URLSearchParams({ pageSize: "20" });
  if (token) q.set("pageToken", token);
  const tbody = $("#list tbody");
  if (!token) tbody.replaceChildren();
  try {
    const res = await api("GET", `/v1/regions/${region()}/disputes?${q}`);
    for (const d of res.disputes || []) {
      const tr = cells(tbody.insertRow(), [d.number, d.claimant?.name, d.claimant?.phone, label(CATEGORIES, d.category),
        deptName(d.registeringDepartment), fmtTime(d.registerTime)]);
      tr.dataset.id = shortId(d.name);
    }
    nextToken = res.nextPageToken || "";
    $("#next-page").hidden = !nextToken;
  } catch (e) { tbody.insertRow().insertCell().textContent = "加载失败：" + describe(e); }
}
$("#load-list").addEventListener("click", () => loadList(""));
$("#next-page").addEventListener("click", () => loadList(nextToken));

// openDispute shows a dispute on the lookup page.
function openDispute(id) {
  if (!id) return;
  $("#lookup-id").value = id;
  show("lookup");
  lookup();
}
for (const sel of ["#list tbody", "#worklist tbody"]) {
  $(sel).addEventListener("click", ev => openDispute(ev.target.closest("tr")?.dataset.id));
}

// ---------------------------------------------------------------------------
// Worklist (待办)

let wlBucket = "BUCKET_UNSPECIFIED"; // 全部
let wlNext = "";

// fillWorklistDepartments offers the caller's own department, or every
// member unit to the office and the convenor, who see the whole region.
function fillWorklistDepartments() {
  const sel = $("#wl-dept");
  const c = claims();
  const current = sel.value || (c || {}).dept || "";
  const wide = hasRole("office", "convenor");
  const units = wide && roster ? (roster.units || []).map(u => [u.id, u.name]) : [];
  if (c && !units.some(u => u[0] === c.dept)) units.unshift([c.dept, deptName(c.dept)]);
  fillSelect(sel, units, false);
  sel.value = units.some(u => u[0] === current) ? current : (c || {}).dept || "";
  sel.disabled = !wide;
}

function renderCounts(counts) {
  const byBucket = {};
  for (const c of counts || []) byBucket[c.bucket || "BUCKET_UNSPECIFIED"] = c.count || 0;
  document.querySelectorAll("#wl-tabs button").forEach(b => {
    b.querySelector(".count").textContent = `（${byBucket[b.dataset.bucket] || 0}）`;
    b.classList.toggle("active", b.dataset.bucket === wlBucket);
  });
}

function remainingCell(days, hasClock) {
  if (!hasClock) return span("—", "muted");
  const d = days || 0;
  if (d < 0) return span(`超期 ${-d} 天`, "overdue");
  return span(String(d), d <= Number($("#wl-within").value || 3) ? "due-soon" : "");
}

async function loadWorklist(token) {
  const dept = $("#wl-dept").value || (claims() || {}).dept;
  const tbody = $("#worklist tbody");
  const err = $("#wl-error");
  showError(err, "");
  if (!dept) { showError(err, "请先登录。"); return; }
  const q = new URLSearchParams({ pageSize: "50" });
  const view = $("#wl-view").value;
  $("#wl-tabs").hidden = view !== "WORKLIST_VIEW_UNSPECIFIED";
  if (view !== "WORKLIST_VIEW_UNSPECIFIED") q.set("view", view);
  else if (wlBucket !== "BUCKET_UNSPECIFIED") q.set("bucket", wlBucket);
  const within = $("#wl-within").value;
  if (within) q.set("dueWithinDays", within);
  if (token) q.set("pageToken", token);
  if (!token) tbody.replaceChildren();
  try {
    const res = await api("GET", `/v1/regions/${region()}/departments/${encodeURIComponent(dept)}/worklist?${q}`);
    for (const it of res.items || []) {
      const tr = cells(tbody.insertRow(), [it.number, STATES[it.state] || it.state, label(CATEGORIES, it.category),
        STAGES[it.stage] || "", fmtTime(it.dueTime), it.overdue ? span("已超期", "overdue") : remainingCell(it.remainingWorkingDays, !!it.dueTime)]);
      tr.dataset.id = shortId(it.dispute);
    }
    renderCounts(res.counts);
    wlNext = res.nextPageToken || "";
    $("#wl-next").hidden = !wlNext;
    $("#wl-empty").hidden = tbody.rows.length > 0;
  } catch (e) {
    showError(err, "待办加载失败：" + describe(e));
    $("#wl-next").hidden = true;
  }
}
document.querySelectorAll("#wl-tabs button").forEach(b => b.addEventListener("click", () => {
  wlBucket = b.dataset.bucket;
  loadWorklist("");
}));
$("#wl-refresh").addEventListener("click", () => loadWorklist(""));
$("#wl-dept").addEventListener("change", () => loadWorklist(""));
$("#wl-view").addEventListener("change", () => loadWorklist(""));
$("#wl-within").addEventListener("change", () => loadWorklist(""));
$("#wl-next").addEventListener("click", () => loadWorklist(wlNext));

// ---------------------------------------------------------------------------
// Lookup: tracking and dossier

let tracking = null; // the tracking on screen; its etag goes with every action that takes one

// disputeId accepts "2026-1", "2026年第1号" or a full resource name.
function disputeId() {
  const v = $("#lookup-id").value.trim();
  const m = v.match(/^(\d{4})年第(\d+)号$/);
  return m ? `${m[1]}-${m[2]}` : shortId(v);
}
const disputeName = () => `regions/${region()}/disputes/${disputeId()}`;

function runningClock(t) {
  return (t.clocks || []).find(c => !c.stopTime);
}
const isPaused = c => !!c && (c.pauses || []).some(p => !p.endTime);

function renderTracking(t) {
  const running = runningClock(t);
  const state = span(STATES[t.state] || t.state || "", "state");
  definitions($("#tracking-summary"), [
    ["编号", t.number],
    ["状态", state],
    ["当前承办单位", deptName(t.holder)],
    ["类别", label(CATEGORIES, t.category)],
    ["登记部门", deptName(t.registeringDepartment)],
    ["首次受理人", t.firstReceiver],
    ["流转理由", ROUTE_REASONS[t.routeReasonCode] || t.routeReasonCode],
    ["曾承办单位", (t.pastHolders || []).map(deptName).join("、")],
    ["退回次数", t.returnCount || ""],
    ["发回重办次数", t.redoCount || ""],
    ["当前时限", running ? `${STAGES[running.stage] || running.stage}，${fmtTime(running.dueTime)} 到期` : ""],
    ["异议选择的救济途径", t.objectionRemedy ? label(REMEDIES, t.objectionRemedy) : ""],
    ["办结原因", CLOSE_CAUSES[t.closeCause] || t.closeCause],
  ]);

  const clocks = $("#clocks tbody");
  clocks.replaceChildren();
  for (const c of t.clocks || []) {
    const status = c.stopTime ? `已停止（${fmtTime(c.stopTime)}）` : isPaused(c) ? "暂停中" : c.overdue ? "计时中（已超期）" : "计时中";
    const remaining = c.stopTime ? span("—", "muted") : remainingCell(c.remainingWorkingDays, true);
    const ext = c.extensionDays ? `延期 ${c.extensionDays} 天（${actorText(c.extensionApprover)} 批准）` : "";
    const pauses = (c.pauses || []).map(p => `${fmtTime(p.startTime)} 至 ${p.endTime ? fmtTime(p.endTime) : "今"}：${p.reason || ""}`).join("\n");
    cells(clocks.insertRow(), [STAGES[c.stage] || c.stage, fmtTime(c.startTime), fmtTime(c.dueTime), remaining, status, ext, pauses]);
  }
  $("#clocks-block").hidden = !(t.clocks || []).length;

  const r = t.reply;
  $("#reply-block").hidden = !r;
  if (r) {
    definitions($("#reply-summary"), [
      ["告知时间", fmtTime(r.replyTime)], ["告知人", actorText(r.actor)], ["办理结果", r.outcome], ["告知书正文", r.text],
      ["送达", r.delivery ? `${r.delivery.deliveryDate}（${label(DELIVERY_METHODS, r.delivery.method)}${r.delivery.recipient ? "，签收人：" + r.delivery.recipient : ""}）` : "尚未记录送达：期限暂按告知日计算"],
    ]);
    const tb = $("#remedies tbody");
    tb.replaceChildren();
    for (const d of r.remedies || []) cells(tb.insertRow(), [label(REMEDIES, d.remedy), d.authority || "", d.lastDate || "无固定期限", d.basis]);
  }

  const e = t.extension;
  $("#extension-block").hidden = !e;
  if (e) {
    const decision = !e.decided ? "待联席会议办公室审批" : e.approved ? "已同意" : "未同意";
    definitions($("#extension-summary"), [
      ["申请天数", `${e.days} 天`], ["申请理由", e.reason], ["申请人", actorText(e.requestedBy)], ["申请时间", fmtTime(e.requestTime)],
      ["审批结果", decision], ["审批人", actorText(e.decidedBy)], ["审批时间", fmtTime(e.decideTime)], ["审批说明", e.comment],
    ]);
  }

  const history = $("#history tbody");
  history.replaceChildren();
  for (const h of t.history || []) {
    cells(history.insertRow(), [fmtTime(h.time), STATES[h.from] || (h.from ? h.from : "—"), STATES[h.to] || h.to, actorText(h.actor), h.reason]);
  }
  $("#history-block").hidden = !(t.history || []).length;

  const slips = $("#slips tbody");
  slips.replaceChildren();
  for (const s of t.transferSlips || []) {
    cells(slips.insertRow(), [s.number, deptName(s.receivingDepartment), s.opinion,
      [deptName(s.registeringDepartment), s.registeringStaff].filter(Boolean).join(" "), fmtTime(s.createTime),
      s.receiver, fmtTime(s.receiveTime), s.returnReason]);
  }
  $("#slips-block").hidden = !(t.transferSlips || []).length;

  const notes = $("#notes tbody");
  notes.replaceChildren();
  for (const n of t.notes || []) cells(notes.insertRow(), [fmtTime(n.time), actorText(n.actor), n.text]);
  $("#notes-block").hidden = !(t.notes || []).length;

  const fus = $("#followups tbody");
  fus.replaceChildren();
  for (const f of t.followUps || []) cells(fus.insertRow(), [fmtTime(f.time), actorText(f.actor), f.satisfied ? "满意" : "不满意", f.note]);
  $("#followups-block").hidden = !(t.followUps || []).length;

  renderActions(t);
  $("#tracking-view").hidden = false;
}

async function loadTracking() {
  const err = $("#tracking-error");
  try {
    const res = await api("GET", `/v1/${disputeName()}/tracking`);
    tracking = res.tracking;
    showError(err, "");
    renderTracking(tracking);
  } catch (e) {
    tracking = null;
    $("#tracking-view").hidden = true;
    showError(err, "查询失败：" + describe(e));
  }
}

async function loadDossier() {
  const ol = $("#dossier");
  ol.replaceChildren();
  try {
    const { dossier } = await api("GET", `/v1/${disputeName()}/dossier`);
    for (const e of dossier.events || []) {
      const li = document.createElement("li");
      li.textContent = `${fmtTime(e.time)} ${e.type.split(".").pop()} ${actorText(e.actor)} ${e.reason || ""}`;
      ol.appendChild(li);
    }
  } catch (e) { ol.replaceChildren(); ol.appendChild(document.createElement("li")).textContent = "案卷查询失败：" + describe(e); }
}

function lookup() {
  hideActionForms();
  showError($("#action-result"), "");
  if (!disputeId()) { showError($("#tracking-error"), "请先输入编号（如 2026-1）。"); return; }
  loadTracking();
  loadDossier();
}
$("#lookup-form").addEventListener("submit", ev => { ev.preventDefault(); lookup(); });

// ---------------------------------------------------------------------------
// Actions. Buttons follow the lifecycle state; whether this caller may act is
// the server's decision, and its refusal is shown as it gives it.

const OPEN = ["DISPUTE_STATE_REGISTERED", "DISPUTE_STATE_TRANSFERRED", "DISPUTE_STATE_HANDLING", "DISPUTE_STATE_AT_OFFICE",
  "DISPUTE_STATE_JOINT_HANDLING", "DISPUTE_STATE_AWAITING_APPROVAL", "DISPUTE_STATE_AT_PLATFORM", "DISPUTE_STATE_REPLIED"];
const is = (t, ...states) => states.includes(t.state);
const bool = v => v === "true";

// Each action: its form, the button label, when it is offered, the path
// verb, and the request body built from the form (name is added).
const ACTIONS = [
  {
    form: "route", label: "流转", verb: "route", etag: true,
    when: t => is(t, "DISPUTE_STATE_REGISTERED", "DISPUTE_STATE_HANDLING"),
    body: f => {
      const kind = f.get("kind");
      return {
        kind, opinion: f.get("opinion"), reasonCode: f.get("reasonCode"),
        targetDepartment: kind === "ROUTE_KIND_TRANSFER" ? f.get("targetDepartment") : "",
      };
    },
  },
  { form: "receive", label: "签收", verb: "receive", etag: true, when: t => is(t, "DISPUTE_STATE_TRANSFERRED") || (is(t, "DISPUTE_STATE_AT_OFFICE") && t.officeReceiptPending), body: () => ({}) },
  { form: "return", label: "退回", verb: "return", etag: true, when: t => is(t, "DISPUTE_STATE_TRANSFERRED") || (is(t, "DISPUTE_STATE_AT_OFFICE") && t.officeReceiptPending), body: f => ({ reason: f.get("reason") }) },
  {
    form: "note", label: "办理进展", verb: "addNote",
    when: t => is(t, "DISPUTE_STATE_HANDLING", "DISPUTE_STATE_AT_OFFICE", "DISPUTE_STATE_JOINT_HANDLING"),
    body: f => ({ text: f.get("text") }),
  },
  {
    form: "pause", label: "暂停计时", verb: "pauseClock",
    when: t => is(t, ...OPEN) && !!runningClock(t) && !isPaused(runningClock(t)), body: f => ({ reason: f.get("reason") }),
  },
  { form: "resume", label: "恢复计时", verb: "resumeClock", when: t => isPaused(runningClock(t)), body: () => ({}) },
  {
    form: "extend", label: "申请延期", verb: "requestExtension", when: t => is(t, "DISPUTE_STATE_HANDLING") && !t.extension,
    body: f => ({ days: Number(f.get("days") || 0), reason: f.get("reason") }),
  },
  {
    form: "decide", label: "审批延期", verb: "decideExtension", when: t => is(t, "DISPUTE_STATE_HANDLING") && !!t.extension && !t.extension.decided,
    body: f => ({ approve: bool(f.get("approve")), comment: f.get("comment") }),
  },
  {
    form: "reply", label: "书面告知", verb: "reply", etag: true, when: t => is(t, "DISPUTE_STATE_HANDLING"),
    body: f => ({ outcome: f.get("outcome"), text: f.get("text"), remedies: f.getAll("remedies") }),
  },
  {
    form: "deliver", label: "送达", verb: "recordDelivery", etag: true,
    when: t => is(t, "DISPUTE_STATE_REPLIED") && !!t.reply && !t.reply.delivery,
    body: f => ({ method: f.get("method"), deliveryDate: f.get("deliveryDate"), recipient: f.get("recipient"), note: f.get("note") }),
  },
  {
    form: "followup", label: "回访", verb: "followUp", when: t => is(t, "DISPUTE_STATE_REPLIED"),
    body: f => ({ satisfied: bool(f.get("satisfied")), note: f.get("note") }),
  },
  { form: "redo", label: "发回重办", verb: "redo", when: t => is(t, "DISPUTE_STATE_REPLIED"), body: f => ({ reason: f.get("reason") }) },
  {
    form: "object", label: "异议", verb: "object", when: t => is(t, "DISPUTE_STATE_REPLIED"),
    body: f => ({ remedy: f.get("remedy"), note: f.get("note") }),
  },
  { form: "close", label: "办结", verb: "close", when: t => is(t, "DISPUTE_STATE_REPLIED"), body: f => ({ reason: f.get("reason") }) },
  { form: "withdraw", label: "撤回", verb: "withdraw", when: t => is(t, ...OPEN), body: f => ({ reason: f.get("reason") }) },
];

function hideActionForms() {
  document.querySelectorAll(".action-form").forEach(f => { f.hidden = true; });
  document.querySelectorAll(".action-form .invalid").forEach(el => el.classList.remove("invalid"));
}

function renderActions(t) {
  const bar = $("#action-buttons");
  bar.replaceChildren();
  hideActionForms();
  const offered = ACTIONS.filter(a => a.when(t));
  for (const a of offered) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = a.label;
    b.addEventListener("click", () => openAction(a));
    bar.appendChild(b);
  }
  $("#no-actions").hidden = offered.length > 0;
}

function openAction(a) {
  hideActionForms();
  showError($("#action-result"), "");
  const form = $("#act-" + a.form);
  form.reset();
  if (a.form === "route") prepareRoute(form);
  if (a.form === "decide" && tracking?.extension) {
    const e = tracking.extension;
    form.querySelector(".extension-ask").textContent = `${actorText(e.requestedBy)} 申请延期 ${e.days} 天：${e.reason || ""}`;
  }
  form.hidden = false;
  form.querySelector("input, textarea, select, button[type=submit]")?.focus();
}

// prepareRoute offers only what the state allows (a handling department may
// only escalate to the office) and keeps the target and reason in step with
// the kind.
function prepareRoute(form) {
  const kind = form.elements.kind;
  const handling = tracking?.state === "DISPUTE_STATE_HANDLING";
  for (const o of kind.options) o.disabled = handling && o.value !== "ROUTE_KIND_OFFICE";
  kind.value = handling ? "ROUTE_KIND_OFFICE" : "ROUTE_KIND_SELF";
  syncRoute(form);
}
function syncRoute(form) {
  const kind = form.elements.kind.value;
  form.querySelector(".route-target").hidden = kind !== "ROUTE_KIND_TRANSFER";
  form.elements.reasonCode.value = { ROUTE_KIND_SELF: "OWN_DUTY", ROUTE_KIND_TRANSFER: "OTHER_DUTY", ROUTE_KIND_OFFICE: "SEVERAL_DEPARTMENTS" }[kind];
  const target = form.elements.targetDepartment;
  const own = (claims() || {}).dept;
  if (target.value === own || !target.value) {
    const other = [...target.options].find(o => o.value !== own);
    if (other) target.value = other.value;
  }
}
$("#act-route [name=kind]").addEventListener("change", () => syncRoute($("#act-route")));

// markInvalid outlines the form fields the server named.
function markInvalid(form, violations) {
  for (const v of violations) {
    const field = v.field.replace(/_([a-z])/g, (_, c) => c.toUpperCase()).split(/[.[]/)[0];
    form.querySelectorAll(`[name="${CSS.escape(field)}"]`).forEach(el => el.classList.add("invalid"));
  }
}

async function submitAction(a, form) {
  const out = $("#action-result");
  form.querySelectorAll(".invalid").forEach(el => el.classList.remove("invalid"));
  if (!tracking) return;
  const name = tracking.name || disputeName();
  const body = { ...a.body(new FormData(form)), name };
  if (a.etag) body.etag = tracking.etag || "";
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    await api("POST", `/v1/${name}:${a.verb}`, body);
    out.className = "result";
    out.textContent = a.verb === "withdraw" ? `${a.label}已受理，办理进度随后更新。` : `${a.label}已办理。`;
    out.hidden = false;
    form.hidden = true;
  } catch (e) {
    out.className = "result error";
    out.textContent = `${a.label}失败：${describe(e)}`;
    out.hidden = false;
    if (e instanceof ApiError) markInvalid(form, e.violations);
    if (!(e instanceof ApiError) || e.code !== 10) return; // keep the form as filled in to correct it
  } finally {
    submit.disabled = false;
  }
  const keep = out.textContent;
  const keepClass = out.className;
  await loadTracking();
  loadDossier();
  out.className = keepClass;
  showError(out, keep);
}
for (const a of ACTIONS) {
  $("#act-" + a.form).addEventListener("submit", ev => { ev.preventDefault(); submitAction(a, ev.target); });
}
document.querySelectorAll(".action-form .cancel").forEach(b => b.addEventListener("click", hideActionForms));

// The remedy choices of the reply and objection forms.
for (const [v, l] of REMEDIES) {
  const lab = document.createElement("label");
  lab.className = "inline";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = "remedies";
  box.value = v;
  lab.append(box, " " + l);
  $("#act-reply .remedies").appendChild(lab);
  $("#act-object [name=remedy]").add(new Option(l, v));
}

// ---------------------------------------------------------------------------
// Printing: a plain link cannot carry the Authorization header, so the
// page is fetched with the token and opened from a Blob URL. The window is
// opened inside the click (so pop-up blockers allow it) and pointed at the
// page once it has arrived; print pages carry no script, so the console's
// Content-Security-Policy holds for them too.
async function openPrint(paper) {
  const id = disputeId();
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

// ---------------------------------------------------------------------------
// Roster page

$("#load-roster").addEventListener("click", async () => {
  const div = $("#roster");
  div.replaceChildren();
  try {
    const { roster: r } = await api("GET", `/v1/regions/${region()}/roster`);
    roster = r;
    const l = r.leadership || {};
    const p = document.createElement("p");
    p.textContent = `${r.regionName}　召集人：${l.convenor?.name || ""}（${l.convenor?.title || ""}）　联席会议办公室设在：${deptName(l.officeHostUnit)}`;
    div.appendChild(p);
    const table = document.createElement("table");
    headCells(table.createTHead().insertRow(), ["代码", "成员单位", "负责人", "受理部门"]);
    const tb = table.createTBody();
    for (const u of r.units || []) cells(tb.insertRow(), [u.id, u.name, u.head, u.intakePoint ? "是" : "否"]);
    div.appendChild(table);
  } catch (e) { div.textContent = "加载失败：" + describe(e); }
});

refreshWho();
fillWorklistDepartments();
if (claims()) { loadRosterOptions(); show("register"); } else { show("login"); }
