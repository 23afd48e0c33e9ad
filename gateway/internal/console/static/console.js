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
// Delivery methods of the written reply (送达方式).
const DELIVERY_METHODS = [
  ["DELIVERY_METHOD_DIRECT", "直接送达"], ["DELIVERY_METHOD_MAIL", "邮寄送达"], ["DELIVERY_METHOD_ELECTRONIC", "电子送达"],
  ["DELIVERY_METHOD_LEFT", "留置送达"], ["DELIVERY_METHOD_ENTRUSTED", "委托送达"], ["DELIVERY_METHOD_PUBLIC_NOTICE", "公告送达"],
];
const ROUTE_REASONS = {
  OWN_DUTY: "本单位职责", OTHER_DUTY: "属其他部门职责", SEVERAL_DEPARTMENTS: "需多部门共同办理", DUTY_UNCLEAR: "职责不清",
};
const CLOSE_CAUSES = {
  withdrawn: "诉求人撤回", objection: "诉求人提出异议", objection_window_ended: "异议期满",
  closed_by_holder: "承办部门办结",
};
// Refusals as staff read them: one Chinese sentence per ErrorInfo reason.
// A reason not in the table gets the sentence of its status code, and a code
// not there GENERIC; nothing in English or a code ever reaches the page.
const REASONS = {
  UNAUTHENTICATED: "尚未登录，请先登录。", TOKEN_INVALID: "登录凭证无效，请重新登录。", TOKEN_EXPIRED: "登录已过期，请重新登录。",
  SESSION_EXPIRED: "登录已过期，请重新登录。", CSRF_TOKEN_INVALID: "页面已过期，请刷新后重试。",
  STAFF_NOT_IN_ROSTER: "名册中没有该人员或其未分配岗位，无法登录。", SIGN_IN_DISABLED: "该登录方式未启用。", SIGN_IN_FAILED: "登录失败，请重试。",
  PERMISSION_DENIED: "您所在的单位或岗位无权办理此事项。", DEPARTMENT_MISMATCH: "本事项不由您所在的单位承办，无权办理。",
  REGION_MISMATCH: "本事项不属于您所在的地区。", DISPUTE_NOT_VISIBLE: "您所在的单位无权查看本事项。",
  DISPUTE_NOT_FOUND: "未找到该编号的争议事项，请核对编号。", TRACKING_NOT_FOUND: "未找到该事项的办理进度，请核对编号。",
  DOSSIER_NOT_FOUND: "未找到该事项的案卷，请核对编号。", DOSSIER_NOT_SEALED: "案卷尚未封存。",
  MEETING_NOT_FOUND: "未找到该会议。", APPROVAL_NOT_FOUND: "未找到该审批。", MASS_WARNING_NOT_FOUND: "未找到该群体性预警。",
  ILLEGAL_TRANSITION: "事项当前所处环节不允许此操作，请刷新后核对。", ILLEGAL_STATE: "事项当前所处环节不允许此操作，请刷新后核对。",
  PRECONDITION_NOT_MET: "办理条件尚不具备，请核对后重试。", ETAG_MISMATCH: "办理进度已被他人更新，已重新加载，请核对后重试。",
  STALE_ETAG: "内容已被他人修改，已重新加载，请核对后重试。", ALREADY_WITHDRAWN: "诉求人已撤回本事项。",
  APPROVAL_ALREADY_DECIDED: "该审批已有结果。", APPROVAL_PENDING: "审批尚未完成。", CLOCK_ALREADY_PAUSED: "计时已处于暂停状态。",
  CLOCK_NOT_PAUSED: "计时未暂停。", CLOCK_OVERDUE: "已超过办理时限。", NO_RUNNING_CLOCK: "当前没有正在计时的环节。",
  EXTENSION_ALREADY_DECIDED: "延期申请已审批。", EXTENSION_ALREADY_REQUESTED: "已申请过延期，不能重复申请。",
  NO_EXTENSION_REQUESTED: "尚未申请延期。", EXTERNAL_REF_EXISTS: "该渠道编号已登记过，请勿重复登记。",
  REQUEST_ID_REUSED: "该登记已提交过，请勿重复提交。", RETURN_WINDOW_CLOSED: "已超过可退回的期限。",
  LIMIT_REACHED: "已达到次数上限。", NO_DISSATISFIED_FOLLOW_UP: "诉求人回访满意，无需发回重办。",
  OPINIONS_MISSING: "尚有成员单位未提交书面意见。", NO_MEETING: "尚未召开联席会议。", NO_OFFICE: "名册未设置联席会议办公室。",
  MASS_WARNING_ALREADY_ACKNOWLEDGED: "该预警已签收。", OFFICE_RECEIPT_PENDING: "联席会议办公室尚未签收流转单，请先签收。",
  OFFICE_RECEIPT_DONE: "联席会议办公室已签收流转单。", CALENDAR_MISSING: "所涉年度的工作日历尚未载入，请联系管理员。",
  NO_ROSTER: "成员单位名册尚未建立，请联系管理员。", ROSTER_NOT_FOUND: "成员单位名册尚未建立，请联系管理员。",
  ROSTER_UNAVAILABLE: "成员单位名册暂时无法读取，请稍后再试。", SEARCH_TOO_BROAD: "查询条件过宽，请增加条件。",
  BACKEND_UNAVAILABLE: "服务暂不可用，请稍后再试。", CATCHING_UP: "数据正在同步，请稍后再试。",
  RATE_LIMITED: "操作过于频繁，请稍后再试。", REQUEST_TOO_LARGE: "提交的内容过长。", CANCELED: "请求已取消。",
  INTERNAL: "服务内部错误，请稍后再试或联系管理员。",
};
// By gRPC status code, when the reason is not in REASONS.
const CODES = {
  1: "请求已取消。", 3: "填写有误，请按提示修改。", 4: "处理超时，请稍后再试。", 5: "未找到，请核对后重试。",
  6: "该记录已存在。", 7: "您所在的单位或岗位无权办理此事项。", 8: "操作过于频繁，请稍后再试。",
  9: "事项当前所处环节不允许此操作，请刷新后核对。", 10: "办理进度已被他人更新，请核对后重试。", 11: "超出允许的范围。",
  14: "服务暂不可用，请稍后再试。", 16: "登录已过期，请重新登录。",
};
const GENERIC = "操作未成功，请稍后再试或联系管理员。";
// Request fields as named in field violations (last path segment, either spelling).
const FIELDS = {
  opinion: "流转意见", targetDepartment: "接收部门", reasonCode: "理由", kind: "类型", reason: "理由", text: "内容",
  outcome: "办理结果", remedies: "救济途径", remedy: "救济途径", days: "延期天数", comment: "说明", note: "记录",
  etag: "版本", name: "姓名（单位名称）", pageToken: "分页", dueWithinDays: "临期范围", parent: "部门", phone: "手机号码",
  idNumber: "身份证号码", creditCode: "统一社会信用代码", complaint: "诉求反映具体情况", category: "争议类别", channel: "受理渠道",
  externalRef: "渠道编号", jurisdiction: "所属乡镇（街道）", peopleInvolved: "涉及人数", registeringDepartment: "登记部门",
  proposedDepartment: "拟处理部门", requestId: "登记请求", body: "提交的内容", approve: "审批意见", satisfied: "是否满意",
  employerName: "用人单位名称", employerCreditCode: "用人单位统一社会信用代码", address: "送达地址", visitTime: "来访时间",
  deliveryAddress: "送达地址", head: "单位负责人", duties: "部门职责", code: "区划代码", title: "职务",
  method: "送达方式", deliveryDate: "送达日期", recipient: "签收人",
};
const camel = f => f.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const fieldKey = f => camel(String(f || "").split(".").pop().replace(/\[.*\]$/, ""));
// fieldSentence says in Chinese what is wrong with one field.
function fieldSentence(v) {
  const name = FIELDS[fieldKey(v.field)] || "此项";
  const d = String(v.description || "").toLowerCase();
  if (/required|must not be empty|non-empty|blank|whitespace|at least 1 char/.test(d)) return `请填写「${name}」。`;
  if (/at most|too long|max/.test(d)) return `「${name}」过长，请删减。`;
  if (/pattern|format|match|digits|valid/.test(d)) return `「${name}」格式不正确。`;
  if (/unknown|not one of|defined|enum|in \[/.test(d)) return `请选择有效的「${name}」。`;
  return `「${name}」填写有误。`;
}

const label = (pairs, v) => (pairs.find(p => p[0] === v) || [v, v])[1];
const $ = sel => document.querySelector(sel);
// One date format everywhere: 2026年11月2日 09:30 (Beijing time).
const fmtTime = t => {
  if (!t) return "";
  const p = Object.fromEntries(new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "numeric",
    day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(t)).map(x => [x.type, x.value]));
  return `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}`;
};
// today is the date in Beijing, "YYYY-MM-DD".
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
const fmtDate = d => { const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d || ""); return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : (d || ""); };
// Dossier events and history reasons in the seed's words.
const EVENTS = {
  DisputeRegistered: "登记", DisputeWithdrawn: "撤回", MassDisputeWarning: "群体性争议预警", DisputesLinked: "关联事项",
  MatterTriaged: "分办", MeetingConvened: "召开联席会议", OpinionSubmitted: "提交书面意见", DecisionIssued: "作出处理意见",
  ApprovalDecided: "召集人审批", PlatformOutcomeRecorded: "一站式调处结果", MinutesRecorded: "记录会议纪要",
  MassWarningAcknowledged: "信访局签收预警", RosterUpdated: "名册变更", TrackingOpened: "开始跟踪", DisputeRouted: "流转",
  TransferReceived: "签收", TransferReturned: "退回", ReplyRecorded: "书面告知", ObjectionRecorded: "异议",
  DisputeTriaged: "分办", ApprovalApplied: "审批结果", DisputeClosed: "办结", DeadlineWarning: "临期提醒", Overdue: "超期",
  ProgressNoteAdded: "办理进展", NoteAdded: "办理进展", ClockPaused: "暂停计时", ClockResumed: "恢复计时",
  ExtensionRequested: "申请延期", ExtensionDecided: "延期审批", FollowUpRecorded: "回访", DisputeRedone: "发回重办",
  DeliveryRecorded: "送达",
};
const REASON_WORDS = {
  registered: "登记", routed: "流转", transferred: "流转", received: "签收", returned: "退回", replied: "书面告知",
  closed: "办结", withdrawn: "诉求人撤回", redo: "发回重办", redone: "发回重办", triaged: "分办", objection: "异议",
  objection_window_ended: "异议期满", closed_by_holder: "承办部门办结", approved: "召集人同意", refused: "召集人不同意",
  self: "本单位办理", transfer: "流转至其他部门", office: "报联席会议办公室", OWN_DUTY: "本单位职责", OTHER_DUTY: "属其他部门职责",
  SEVERAL_DEPARTMENTS: "需多部门共同办理", DUTY_UNCLEAR: "职责不清", GENERAL: "一般事项", MAJOR: "重大事项",
};
// reasonText turns a recorded reason ("objection: REMEDY_MEDIATION") into
// Chinese; free text a person wrote (not ASCII words) is kept as written.
function reasonText(r) {
  if (!r) return "";
  return String(r).split(/:\s*/).map(part => {
    const w = part.trim();
    const delivered = /^delivered (\d{4}-\d{2}-\d{2})$/.exec(w);
    if (delivered) return `送达日期 ${fmtDate(delivered[1])}`;
    if (!/^[A-Za-z_ -]+$/.test(w)) return w;
    return REASON_WORDS[w] || label(REMEDIES, w) !== w && label(REMEDIES, w) || STATES[w] || "";
  }).filter(Boolean).join("：");
}

// ---------------------------------------------------------------------------
// Session. The gateway holds it in an HttpOnly cookie; the page keeps only
// who is signed in and the CSRF token, in memory (never in storage), and
// forgets both on sign-out.

let me = null; // {region, regionName, unit, unitName, staff, displayName, roles, csrfToken}
const ROLES = { clerk: "受理登记", handler: "承办", office: "联席会议办公室", convenor: "召集人", platform: "一站式调处平台", admin: "名册管理", head: "单位负责人" };
const region = () => (me || {}).region || "";
const hasRole = (...roles) => ((me || {}).roles || []).some(r => roles.includes(r));
const claims = () => me && { region: me.region, dept: me.unit, sub: me.staff, roles: me.roles };

// ApiError is a refused request with what the API said about it.
class ApiError extends Error {
  constructor(status, data) {
    super("");
    this.status = status;
    this.code = data.code;
    const details = data.details || [];
    this.violations = details.flatMap(d => d.fieldViolations || []);
    this.reason = (details.find(d => d.reason) || {}).reason || "";
  }
  // describe is the refusal as staff read it: one Chinese sentence, then
  // one per field at fault.
  describe() {
    const main = (this.reason && this.reason !== "INVALID_ARGUMENT" && REASONS[this.reason]) || CODES[this.code] || GENERIC;
    return [main, ...this.violations.map(fieldSentence)].join("\n");
  }
}
const describe = e => e instanceof ApiError ? e.describe() : "无法连接服务，请检查网络后重试。";

async function api(method, path, body) {
  let res;
  const headers = { "Content-Type": "application/json" };
  if (me && method !== "GET") headers["X-CSRF-Token"] = me.csrfToken;
  try {
    res = await fetch(path, { method, headers, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined });
  } catch (e) { throw new Error("offline"); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && me) sessionEnded(REASONS.SESSION_EXPIRED);
    throw err;
  }
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
  if (page === "list") loadList("");
  if (page === "roster") loadRosterPage();
  if (page === "approvals") loadApprovals();
  if (page === "opinions") loadOpinionsOwed();
  if (page === "warnings") loadWarnings();
  if (page === "stats") loadStats();
}
document.querySelectorAll("nav button").forEach(b => b.addEventListener("click", () => show(b.dataset.page)));

// ---------------------------------------------------------------------------
// Roster (cached: department names for every page)

let roster = null;
const deptName = id => {
  if (!id) return "";
  const u = ((roster || {}).units || []).find(u => u.id === id);
  return u ? u.name : "（名册外单位）";
};
// staffName is a person's display name from the roster; an id the roster
// does not know is not shown (ids are not for people to read).
const staffName = id => {
  for (const u of (roster || {}).units || []) for (const m of u.staff || []) if (m.id === id) return m.displayName;
  return id ? "（名册外人员）" : "";
};
const actorText = a => a ? [deptName(a.department), staffName(a.staffId)].filter(Boolean).join(" ") : "";

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
// Sign-in and sign-out

function refreshWho() {
  $("#who-text").textContent = me
    ? `${me.regionName} · ${me.unitName} · ${me.displayName} · ${(me.roles || []).map(r => ROLES[r] || "").filter(Boolean).join("、")}`
    : "未登录";
  $("#signout").hidden = !me;
  $("#nav").hidden = !me;
  document.querySelectorAll("nav button[data-roles]").forEach(b => { b.hidden = !me || !hasRole(...b.dataset.roles.split(" ")); });
  $("#reg-dept-name").textContent = me ? me.unitName : "";
}

// clearAll forgets everything of the person signed in: forms, lists,
// results, the dispute on screen and the cached roster.
function clearAll() {
  document.querySelectorAll("main form").forEach(f => f.reset());
  document.querySelectorAll("main tbody, #dossier, #roster, #attachments, #related, #roster-changes tbody").forEach(el => el.replaceChildren());
  document.querySelectorAll("main dl").forEach(el => el.replaceChildren());
  document.querySelectorAll("main .result, .field-error").forEach(el => {
    if (el.classList.contains("field-error")) { el.remove(); return; }
    el.textContent = "";
    if (el.id !== "register-result") el.hidden = true;
  });
  document.querySelectorAll(".invalid").forEach(el => el.classList.remove("invalid"));
  $("#tracking-view").hidden = true;
  $("#seal-block").hidden = true;
  sealedName = "";
  $("#lookup-id").value = "";
  document.querySelectorAll("#wl-tabs .count").forEach(el => { el.textContent = ""; });
  $("#wl-dept").replaceChildren();
  $("#proposed").options.length = 1;
  $("#jurisdiction").options.length = 1;
  $("#act-route [name=targetDepartment]").replaceChildren();
  $("#register-print").hidden = true;
  lastRegistered = "";
  disputeDoc = null;
  tracking = null;
  roster = null;
  owedMeeting = null;
  disputeMeetings = [];
  document.querySelectorAll("#approvals, #opinions, #warnings").forEach(el => el.replaceChildren());
  $("#staff-edit").hidden = true;
  for (const id of ["#unit-edit", "#leadership-edit", "#jurisdiction-edit"]) { $(id).hidden = true; delete $(id).dataset.dirty; }
  $("#roster-changes-block").hidden = true;
  $("#calendar-banner").hidden = true;
  $("#calendar-banner").textContent = "";
  rosterShownEtag = "";
  clearStats();
  nextToken = "";
  wlNext = "";
  wlView = "WORKLIST_VIEW_UNSPECIFIED";
  wlBucket = "BUCKET_UNSPECIFIED";
}

function sessionEnded(message) {
  me = null;
  clearAll();
  refreshWho();
  showLogin(message);
}

async function showLogin(message) {
  show("login");
  showError($("#login-message"), message || new URLSearchParams(location.search).get("signin") && "登录未成功，请重试或联系管理员。" || "");
  let cfg = {};
  try { cfg = await (await fetch("/auth/config")).json(); } catch (e) { /* shown below */ }
  $("#login-oidc").hidden = !cfg.oidc;
  $("#login-dev").hidden = !cfg.dev;
  if (!cfg.dev) return;
  try {
    const res = await fetch("/auth/dev/staff");
    const data = await res.json();
    if (!res.ok) throw new ApiError(res.status, data);
    devUnits = data.units || [];
    fillSelect($("#login-unit"), devUnits.map(u => [u.id, u.name]), false);
    fillDevStaff();
  } catch (e) { showError($("#login-message"), describe(e)); }
}
let devUnits = [];
function fillDevStaff() {
  const u = devUnits.find(u => u.id === $("#login-unit").value) || { staff: [] };
  fillSelect($("#login-staff"), u.staff.map(p => [p.id, `${p.displayName}（${p.roles.map(r => ROLES[r] || "").filter(Boolean).join("、")}）`]), false);
}
$("#login-unit").addEventListener("change", fillDevStaff);

function signedIn(session) {
  clearAll();
  me = session;
  history.replaceState(null, "", "/");
  showError($("#login-message"), "");
  refreshWho();
  offerViews();
  loadRosterOptions();
  checkCalendar();
  show(hasRole("convenor") ? "approvals" : hasRole("clerk", "handler", "office", "platform") ? "worklist" : "roster");
}

$("#login-dev").addEventListener("submit", async ev => {
  ev.preventDefault();
  try {
    const res = await fetch("/auth/dev/signin", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ unit: $("#login-unit").value, staff: $("#login-staff").value }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new ApiError(res.status, data);
    signedIn(data);
  } catch (e) { sessionEnded(describe(e)); }
});

$("#signout").addEventListener("click", async () => {
  try {
    await fetch("/auth/signout", { method: "POST", headers: { "X-CSRF-Token": (me || {}).csrfToken || "" }, credentials: "same-origin" });
  } catch (e) { /* the page forgets the person all the same */ }
  sessionEnded("");
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
    registeringDepartment: (me || {}).unit, proposedDepartment: f.get("proposedDepartment"),
    jurisdiction: f.get("jurisdiction"), peopleInvolved: Number(f.get("peopleInvolved") || 0),
    employerName: f.get("employerName"), employerCreditCode: f.get("employerCreditCode"), deliveryAddress: f.get("deliveryAddress"),
  };
  // datetime-local is the browser's local time; the API takes an instant.
  if (f.get("visitTime")) dispute.visitTime = new Date(f.get("visitTime")).toISOString();
  const out = $("#register-result");
  try {
    const res = await api("POST", `/v1/regions/${region()}/disputes`, { requestId: crypto.randomUUID(), dispute });
    ev.target.reset();
    clearFieldErrors(ev.target);
    const lines = [`登记成功：编号 ${res.dispute.number}`];
    if (res.dispute.lookupCode) lines.push(`查询码：${res.dispute.lookupCode}`);
    if ((res.linkedDisputes || []).length) lines.push(`注意：同一诉求人同类事项已在办，已关联：${res.linkedDisputes.map(n => numberText(shortId(n))).join("、")}`);
    if (res.massDisputeWarning) lines.push("注意：本事项已触发群体性争议预警，已通报信访局。");
    out.className = "result";
    out.textContent = lines.join("\n");
    lastRegistered = shortId(res.dispute.name);
    $("#register-print").hidden = false;
  } catch (e) {
    out.className = "result error";
    out.textContent = "登记失败：" + describe(e);
    if (e instanceof ApiError) markInvalid(ev.target, e.violations);
  }
});

let lastRegistered = "";
$("#register-print").addEventListener("click", () => { if (lastRegistered) openPrint("receipt", lastRegistered); });
const numberText = id => { const m = /^(\d{4})-(\d+)$/.exec(id || ""); return m ? `${m[1]}年第${m[2]}号` : id; };

// ---------------------------------------------------------------------------
// Dispute list

const shortId = name => (name || "").split("/").pop();

const summary = text => { const t = String(text || "").replace(/\s+/g, " ").trim(); return t.length > 30 ? t.slice(0, 30) + "…" : t; };

// The list: category and channel filter on the server; the search box
// narrows the rows loaded by number, claimant and complaint.
let nextToken = "";
async function loadList(token) {
  const q = new URLSearchParams({ pageSize: "20" });
  if (token) q.set("pageToken", token);
  if ($("#list-category").value) q.set("category", $("#list-category").value);
  if ($("#list-channel").value) q.set("channel", $("#list-channel").value);
  const tbody = $("#list tbody");
  if (!token) tbody.replaceChildren();
  try {
    const res = await api("GET", `/v1/regions/${region()}/disputes?${q}`);
    for (const d of res.disputes || []) {
      const tr = cells(tbody.insertRow(), [numberText(shortId(d.name)), d.claimant?.name, d.claimant?.phone, label(CATEGORIES, d.category),
        summary(d.complaint), deptName(d.registeringDepartment), fmtTime(d.registerTime)]);
      tr.dataset.id = shortId(d.name);
      tr.dataset.search = [d.number, numberText(shortId(d.name)), d.claimant?.name, d.complaint].join(" ");
    }
    nextToken = res.nextPageToken || "";
    $("#next-page").hidden = !nextToken;
    filterList();
  } catch (e) { tbody.insertRow().insertCell().textContent = "加载失败：" + describe(e); }
}
function filterList() {
  const needle = $("#list-search").value.trim();
  let shown = 0;
  for (const tr of $("#list tbody").rows) {
    tr.hidden = !!needle && !(tr.dataset.search || "").includes(needle);
    if (!tr.hidden) shown++;
  }
  $("#list-empty").hidden = shown > 0;
}
for (const [v, l] of CATEGORIES) $("#list-category").add(new Option(l, v));
for (const [v, l] of CHANNELS) $("#list-channel").add(new Option(l, v));
$("#list-filter").addEventListener("submit", ev => { ev.preventDefault(); loadList(""); });
$("#list-category").addEventListener("change", () => loadList(""));
$("#list-channel").addEventListener("change", () => loadList(""));
$("#list-search").addEventListener("input", filterList);
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
let wlView = "WORKLIST_VIEW_UNSPECIFIED"; // the department's own holdings
let wlNext = "";

// The views offered by role: each its tab; the first the person's own work.
function offerViews() {
  let first = "";
  document.querySelectorAll("#wl-views button").forEach(b => {
    b.hidden = !me || !hasRole(...b.dataset.roles.split(" "));
    if (!b.hidden && !first) first = b.dataset.view;
  });
  const preferred = hasRole("convenor") ? "WORKLIST_VIEW_APPROVALS_PENDING" : hasRole("platform") ? "WORKLIST_VIEW_PLATFORM" : "WORKLIST_VIEW_UNSPECIFIED";
  const b = $(`#wl-views button[data-view="${preferred}"]`);
  wlView = b && !b.hidden ? preferred : first || "WORKLIST_VIEW_UNSPECIFIED";
}

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
  // A view is the signed-in unit's own work; the department choice is for
  // the holdings by bucket.
  const own = wlView !== "WORKLIST_VIEW_UNSPECIFIED";
  const dept = own ? (claims() || {}).dept : $("#wl-dept").value || (claims() || {}).dept;
  $("#wl-tabs").hidden = own;
  $("#wl-dept").closest("label").hidden = own;
  document.querySelectorAll("#wl-views button").forEach(b => b.classList.toggle("active", b.dataset.view === wlView));
  const tbody = $("#worklist tbody");
  const err = $("#wl-error");
  showError(err, "");
  if (!dept) { showError(err, "请先登录。"); return; }
  const q = new URLSearchParams({ pageSize: "50" });
  if (own) q.set("view", wlView);
  else if (wlBucket !== "BUCKET_UNSPECIFIED") q.set("bucket", wlBucket);
  const within = $("#wl-within").value;
  if (within) q.set("dueWithinDays", within);
  if (token) q.set("pageToken", token);
  if (!token) tbody.replaceChildren();
  delete $("#worklist").dataset.details;
  try {
    const res = await api("GET", `/v1/regions/${region()}/departments/${encodeURIComponent(dept)}/worklist?${q}`);
    const shown = new Map(); // dispute name -> [claimant cell, summary cell]
    for (const it of res.items || []) {
      const who = span(""), what = span("");
      const tr = cells(tbody.insertRow(), [numberText(shortId(it.dispute)), who, label(CATEGORIES, it.category), what,
        STATES[it.state] || "", STAGES[it.stage] || "", fmtTime(it.dueTime),
        it.overdue ? span("已超期", "overdue") : remainingCell(it.remainingWorkingDays, !!it.dueTime)]);
      tr.dataset.id = shortId(it.dispute);
      if (!shown.has(it.dispute)) shown.set(it.dispute, []);
      shown.get(it.dispute).push([who, what]);
    }
    // The claimants (numbers masked) and summaries of the whole page in one
    // call, not one per row; a dispute this unit may not read stays "—".
    if (shown.size) {
      const bq = new URLSearchParams();
      for (const n of shown.keys()) bq.append("names", n);
      api("GET", `/v1/regions/${region()}/disputes:batchGet?${bq}`).then(({ disputes }) => {
        for (const d of disputes || []) for (const [who, what] of shown.get(d.name) || []) {
          who.textContent = d.claimant?.name || "";
          what.textContent = summary(d.complaint);
        }
      }).catch(() => { /* the cells stay "—" */ }).finally(() => {
        for (const pairs of shown.values()) for (const [, what] of pairs) if (!what.textContent) what.textContent = "—";
        $("#worklist").dataset.details = "loaded";
      });
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
document.querySelectorAll("#wl-views button").forEach(b => b.addEventListener("click", () => {
  wlView = b.dataset.view;
  loadWorklist("");
}));
$("#wl-refresh").addEventListener("click", () => loadWorklist(""));
$("#wl-dept").addEventListener("change", () => loadWorklist(""));
$("#wl-within").addEventListener("change", () => loadWorklist(""));
$("#wl-next").addEventListener("click", () => loadWorklist(wlNext));

// ---------------------------------------------------------------------------
// Lookup: tracking and dossier

let tracking = null; // the tracking on screen; its etag goes with every action that takes one

// disputeId accepts "2026-11026", "2026年第11026号", a bare "11026" (this
// year) or a full resource name.
function disputeId() {
  const v = $("#lookup-id").value.trim().replace(/\s+/g, "");
  let m = v.match(/^(\d{4})年第(\d+)号$/) || v.match(/^(\d{4})-(\d+)$/);
  if (m) return `${m[1]}-${Number(m[2])}`;
  if (/^\d{1,9}$/.test(v)) return `${new Date().getFullYear()}-${Number(v)}`;
  return shortId(v);
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
    ["首次受理人", staffName(t.firstReceiver)],
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
      ["送达", r.delivery ? `${fmtDate(r.delivery.deliveryDate)}（${label(DELIVERY_METHODS, r.delivery.method)}${r.delivery.recipient ? "，签收人：" + r.delivery.recipient : ""}）`
        : "尚未记录送达：救济期限暂自告知之日起算"],
    ]);
    const tb = $("#remedies tbody");
    tb.replaceChildren();
    for (const d of r.remedies || []) cells(tb.insertRow(), [label(REMEDIES, d.remedy), d.authority || "", fmtDate(d.lastDate) || "无固定期限", d.basis]);
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
    cells(history.insertRow(), [fmtTime(h.time), STATES[h.from] || "—", STATES[h.to] || "", actorText(h.actor), reasonText(h.reason)]);
  }
  $("#history-block").hidden = !(t.history || []).length;

  const slips = $("#slips tbody");
  slips.replaceChildren();
  for (const s of t.transferSlips || []) {
    cells(slips.insertRow(), [s.number, deptName(s.receivingDepartment), s.opinion,
      [deptName(s.registeringDepartment), staffName(s.registeringStaff)].filter(Boolean).join(" "), fmtTime(s.createTime),
      staffName(s.receiver), fmtTime(s.receiveTime), s.returnReason]);
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

// The meetings on the dispute: the opinion this unit owes, if any, and the
// opinions given (for the office's decision).
let owedMeeting = null;
let disputeMeetings = [];
const meetingText = m => [m.startTime ? "会议时间：" + fmtTime(m.startTime) : "", m.place ? "地点：" + m.place : "",
  m.agenda ? "议题：" + m.agenda : "", "参会单位：" + (m.invitedUnits || []).map(deptName).join("、")].filter(Boolean).join("　");
async function loadMeetings(t) {
  owedMeeting = null;
  disputeMeetings = [];
  if (!me || t.state !== "DISPUTE_STATE_JOINT_HANDLING") return;
  const q = new URLSearchParams({ dispute: t.name, pageSize: "20" });
  if (!hasRole("office")) q.set("invitedUnit", me.unit);
  try {
    const res = await api("GET", `/v1/regions/${region()}/meetings?${q}`);
    disputeMeetings = res.meetings || [];
  } catch (e) { return; }
  owedMeeting = disputeMeetings.find(m => (m.invitedUnits || []).includes(me.unit) &&
    !(m.opinions || []).some(o => o.unit === me.unit && o.dispute === t.name)) || null;
}
function showOpinions(box) {
  box.replaceChildren();
  for (const m of disputeMeetings) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = meetingText(m);
    box.appendChild(p);
    for (const u of m.invitedUnits || []) {
      const o = (m.opinions || []).find(o => o.unit === u && o.dispute === tracking?.name);
      const line = document.createElement("p");
      line.textContent = o ? `${deptName(u)}（${staffName(o.staff)}，${fmtTime(o.submitTime)}）：${o.text}` : `${deptName(u)}：尚未提交书面意见`;
      box.appendChild(line);
    }
  }
}

async function loadTracking() {
  const err = $("#tracking-error");
  try {
    const res = await api("GET", `/v1/${disputeName()}/tracking`);
    tracking = res.tracking;
    showError(err, "");
    await loadMeetings(tracking);
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
  $("#seal-block").hidden = true;
  try {
    const { dossier } = await api("GET", `/v1/${disputeName()}/dossier`);
    for (const e of [...(dossier.events || []), ...(dossier.addendum || [])]) {
      const li = document.createElement("li");
      li.textContent = `${fmtTime(e.time)} ${EVENTS[String(e.type || "").split(".").pop()] || "其他记录"} ${actorText(e.actor)} ${reasonText(e.reason)}`;
      ol.appendChild(li);
    }
    if (dossier.sealed) showSeal(dossier);
  } catch (e) { ol.replaceChildren(); ol.appendChild(document.createElement("li")).textContent = "案卷查询失败：" + describe(e); }
}

// ---------------------------------------------------------------------------
// The seal: a closed dossier sealed into the region's transparency log
// (RFC 6962). The page checks the inclusion proof against the archive's
// latest checkpoint itself, and offers the export bundle, which verifies
// offline (disputectl archive verify).

const b64bytes = s => Uint8Array.from(atob(s || ""), c => c.charCodeAt(0));
const hex = b => [...b].map(x => x.toString(16).padStart(2, "0")).join("");
async function nodeHash(left, right) {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}
// verifyInclusion is RFC 9162 §2.1.3.2: the root a leaf hash and its audit
// path give, compared with the checkpoint's root.
async function verifyInclusion(index, size, leafHash, path, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hex(r) === hex(root);
}

let sealedName = "";
async function showSeal(dossier) {
  sealedName = dossier.name;
  const err = $("#seal-error");
  showError(err, "");
  const pairs = [["日志序号", String(Number(dossier.leafIndex || 0))]];
  try {
    const cp = await api("GET", `/v1/regions/${region()}/checkpoint`);
    const size = Number(cp.treeSize || 0);
    const proof = await api("GET", `/v1/${dossier.name}/dossier/proof?treeSize=${size}`);
    const ok = await verifyInclusion(Number(proof.leafIndex || 0), Number(proof.treeSize || 0), b64bytes(proof.leafHash),
      (proof.hashes || []).map(b64bytes), b64bytes(cp.rootHash));
    pairs.push(["检查点", `日志共 ${size} 份案卷`], ["检查点根哈希", hex(b64bytes(cp.rootHash))],
      ["包含性证明", ok ? "已验证：本案卷在检查点所记录的日志中" : "验证未通过，请联系管理员"]);
  } catch (e) { showError(err, "封存证明读取失败：" + describe(e)); }
  definitions($("#seal-summary"), pairs);
  $("#seal-block").hidden = false;
}

// proofBundle is the export bundle's text (JSON: the dossier, its leaf,
// the checkpoint and the inclusion proof).
async function proofBundle() {
  const res = await api("GET", `/v1/${sealedName}/dossier:export`);
  return new TextDecoder().decode(b64bytes(res.content));
}
$("#proof-download").addEventListener("click", async () => {
  try {
    const text = await proofBundle();
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `案卷证明包_${shortId(sealedName)}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) { showError($("#seal-error"), "下载失败：" + describe(e)); }
});

// The dispute itself: claimant (numbers as the API gives them: masked
// unless this department holds the dispute), complaint, attachments and
// the disputes linked to it.
let disputeDoc = null;
const jurisdictionName = code => (((roster || {}).jurisdictions || []).find(j => j.code === code) || {}).name || "";
async function loadDispute() {
  const err = $("#dispute-error");
  disputeDoc = null;
  $("#dispute-summary").replaceChildren();
  $("#attachments").replaceChildren();
  $("#related").replaceChildren();
  try {
    const { dispute: d } = await api("GET", `/v1/${disputeName()}`);
    disputeDoc = d;
    showError(err, "");
    const c = d.claimant || {};
    definitions($("#dispute-summary"), [
      ["诉求人", c.name], ["诉求人类型", c.kind === "CLAIMANT_KIND_EMPLOYER" ? "用人单位" : "个人"], ["手机号码", c.phone],
      ["身份证号码", c.idNumber], ["统一社会信用代码", c.creditCode], ["用人单位", d.employerName],
      ["用人单位统一社会信用代码", d.employerCreditCode], ["争议类别", label(CATEGORIES, d.category)],
      ["受理渠道", label(CHANNELS, d.channel)], ["渠道编号", d.externalRef], ["诉求反映具体情况", d.complaint],
      ["所属乡镇（街道）", jurisdictionName(d.jurisdiction)], ["涉及人数", d.peopleInvolved],
      ["登记部门", deptName(d.registeringDepartment)], ["登记人员", staffName(d.registeringStaff)],
      ["拟处理部门", d.proposedDepartment ? deptName(d.proposedDepartment) : ""], ["登记时间", fmtTime(d.registerTime)],
      ["来访时间", fmtTime(d.visitTime)], ["送达地址", d.deliveryAddress],
      ["群体性争议", d.massDispute ? "是（已预警）" : ""], ["撤回时间", fmtTime(d.withdrawTime)], ["撤回理由", d.withdrawReason],
    ]);
    for (const a of d.attachments || []) {
      const li = document.createElement("li");
      li.textContent = `${a.name}${a.sizeBytes ? `（${Math.max(1, Math.round(Number(a.sizeBytes) / 1024))} KB）` : ""}`;
      $("#attachments").appendChild(li);
    }
    if (!(d.attachments || []).length) $("#attachments").appendChild(span("无", "muted"));
    for (const n of d.linkedDisputes || []) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = numberText(shortId(n));
      b.addEventListener("click", () => openDispute(shortId(n)));
      li.appendChild(b);
      $("#related").appendChild(li);
    }
    if (!(d.linkedDisputes || []).length) $("#related").appendChild(span("无", "muted"));
  } catch (e) { showError(err, "争议事项读取失败：" + describe(e)); }
}

async function lookup() {
  hideActionForms();
  showError($("#action-result"), "");
  if (!disputeId()) { showError($("#tracking-error"), "请先输入编号（如 2026-1）。"); return; }
  // Nothing of the dispute shown before stays while the asked one loads.
  tracking = null;
  $("#tracking-view").hidden = true;
  $("#dispute-summary").replaceChildren();
  $("#dossier").replaceChildren();
  $("#seal-block").hidden = true;
  // Names as the roster has them now: an edit shows on the next look.
  try { ({ roster } = await api("GET", `/v1/regions/${region()}/roster`)); } catch (e) { /* the cached copy serves */ }
  loadDispute();
  await loadTracking();
  if (tracking && !readsDossier(tracking)) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "案卷由登记单位、承办单位和联席会议办公室查阅。";
    $("#dossier").replaceChildren(li);
    return;
  }
  loadDossier();
}
// readsDossier: the dossier is read by the region-wide roles and the
// dispute's parties (its registering unit, holder and past holders), not by
// the units that read the dispute for one stage of the office path.
const readsDossier = t => hasRole("office", "convenor") ||
  [t.registeringDepartment, t.holder, ...(t.pastHolders || [])].includes((me || {}).unit);
$("#lookup-form").addEventListener("submit", ev => { ev.preventDefault(); lookup(); });

// ---------------------------------------------------------------------------
// Actions. Buttons follow the lifecycle state; whether this caller may act is
// the server's decision, and its refusal is shown as it gives it.

const OPEN = ["DISPUTE_STATE_REGISTERED", "DISPUTE_STATE_TRANSFERRED", "DISPUTE_STATE_HANDLING", "DISPUTE_STATE_AT_OFFICE",
  "DISPUTE_STATE_JOINT_HANDLING", "DISPUTE_STATE_AWAITING_APPROVAL", "DISPUTE_STATE_AT_PLATFORM", "DISPUTE_STATE_REPLIED"];
const is = (t, ...states) => states.includes(t.state);
// officeSlip: the dispute is at the office, its slip not yet signed.
const officeSlip = t => is(t, "DISPUTE_STATE_AT_OFFICE") && !!t.officeReceiptPending;
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
  // A transfer's slip, or the office's slip before its triage.
  { form: "receive", label: "签收", verb: "receive", etag: true, when: t => is(t, "DISPUTE_STATE_TRANSFERRED") || officeSlip(t), body: () => ({}) },
  { form: "return", label: "退回", verb: "return", etag: true, when: t => is(t, "DISPUTE_STATE_TRANSFERRED") || officeSlip(t), body: f => ({ reason: f.get("reason") }) },
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
  // The office, the invited units and the platform (joint handling).
  {
    form: "triage", label: "分类", verb: "triage", when: t => is(t, "DISPUTE_STATE_AT_OFFICE") && !t.officeReceiptPending,
    body: f => ({ class: f.get("class"), note: f.get("note") }),
  },
  {
    form: "convene", label: "召开联席会议", when: t => is(t, "DISPUTE_STATE_JOINT_HANDLING"),
    path: () => `/v1/regions/${region()}/meetings`,
    body: (f, name) => ({
      requestId: crypto.randomUUID(),
      meeting: {
        kind: "MEETING_KIND_JOINT_HANDLING", disputes: [name], invitedUnits: f.getAll("invited"), place: f.get("place"),
        agenda: f.get("agenda"), startTime: f.get("startTime") ? new Date(f.get("startTime")).toISOString() : undefined,
      },
    }),
  },
  {
    form: "opinion", label: "提交书面意见", when: t => is(t, "DISPUTE_STATE_JOINT_HANDLING") && !!owedMeeting,
    path: () => `/v1/${owedMeeting.name}/opinions`,
    body: (f, name) => ({ opinion: { dispute: name, text: f.get("text") } }),
  },
  {
    form: "officedecide", label: "出具处理意见", verb: "decide", when: t => is(t, "DISPUTE_STATE_JOINT_HANDLING"),
    body: f => ({ outcome: f.get("outcome"), text: f.get("text"), remedies: f.getAll("remedies") }),
  },
  {
    form: "approval", label: "报召集人审批", when: t => is(t, "DISPUTE_STATE_AWAITING_APPROVAL"),
    path: () => `/v1/regions/${region()}/approvals`,
    body: (f, name) => ({ dispute: name, summary: f.get("summary") }),
  },
  {
    // The platform reads the matter only while it is there: after the
    // outcome the page says so instead of reading it again.
    leaves: "书面告知已出具，本事项离开一站式调处平台，由联席会议办公室跟踪送达和回访。",
    form: "platform", label: "记录调处结果", verb: "platformOutcome", when: t => is(t, "DISPUTE_STATE_AT_PLATFORM"),
    body: f => ({ outcome: f.get("outcome"), text: f.get("text"), remedies: f.getAll("remedies") }),
  },
];

function hideActionForms() {
  document.querySelectorAll(".action-form").forEach(f => { f.hidden = true; });
  document.querySelectorAll(".action-form .invalid").forEach(el => el.classList.remove("invalid"));
}

// WHO says which signed-in people an action is offered to: the unit that
// holds the dispute (or registered it, for a withdrawal) in the roles the
// services accept; the office's actions to the office.
const holds = t => !!me && t.holder === me.unit;
const receiving = t => !!me && ((t.transferSlips || []).filter(s => !s.receiveTime && !s.returnReason).pop() || {}).receivingDepartment === me.unit;
const WHO = {
  route: t => holds(t) && hasRole("clerk", "handler", "office"),
  receive: t => officeSlip(t) ? hasRole("office") : (holds(t) || receiving(t)) && hasRole("clerk", "handler", "office"),
  return: t => officeSlip(t) ? hasRole("office") : (holds(t) || receiving(t)) && hasRole("clerk", "handler", "office"),
  note: t => holds(t) && hasRole("clerk", "handler", "office"),
  pause: t => holds(t) && hasRole("clerk", "handler", "office"),
  resume: t => holds(t) && hasRole("clerk", "handler", "office"),
  extend: t => holds(t) && hasRole("clerk", "handler", "office"),
  decide: () => hasRole("office"),
  reply: t => holds(t) && hasRole("clerk", "handler", "office"),
  deliver: t => (holds(t) && hasRole("clerk", "handler", "office", "platform")) || hasRole("office"),
  followup: t => (holds(t) || t.registeringDepartment === me?.unit) && hasRole("clerk", "handler", "office"),
  redo: () => hasRole("office"),
  object: t => (holds(t) || t.registeringDepartment === me?.unit) && hasRole("clerk", "handler", "office"),
  close: t => (holds(t) || t.registeringDepartment === me?.unit) && hasRole("clerk", "handler", "office"),
  withdraw: t => (holds(t) || t.registeringDepartment === me?.unit) && hasRole("clerk", "handler", "office"),
  triage: () => hasRole("office"),
  convene: () => hasRole("office"),
  opinion: () => hasRole("clerk", "handler"),
  officedecide: () => hasRole("office"),
  approval: () => hasRole("office"),
  platform: () => hasRole("platform"),
};

function renderActions(t) {
  const bar = $("#action-buttons");
  bar.replaceChildren();
  hideActionForms();
  const offered = ACTIONS.filter(a => a.when(t) && (WHO[a.form] || (() => false))(t));
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
  if (a.form === "convene") {
    const box = form.querySelector(".invited");
    box.querySelectorAll("label").forEach(l => l.remove());
    for (const u of (roster || {}).units || []) {
      const lab = document.createElement("label");
      lab.className = "inline";
      const c = document.createElement("input");
      c.type = "checkbox";
      c.name = "invited";
      c.value = u.id;
      lab.append(c, " " + u.name);
      box.appendChild(lab);
    }
  }
  if (a.form === "opinion" && owedMeeting) {
    form.querySelector(".meeting-info").textContent = meetingText(owedMeeting);
  }
  if (a.form === "deliver") form.elements.deliveryDate.value = today();
  if (a.form === "officedecide") showOpinions(form.querySelector(".opinions-view"));
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
  const proposed = (disputeDoc || {}).proposedDepartment;
  kind.value = handling ? "ROUTE_KIND_OFFICE" : proposed && proposed !== (me || {}).unit ? "ROUTE_KIND_TRANSFER" : "ROUTE_KIND_SELF";
  syncRoute(form);
}
function syncRoute(form) {
  const kind = form.elements.kind.value;
  form.querySelector(".route-target").hidden = kind !== "ROUTE_KIND_TRANSFER";
  form.elements.reasonCode.value = { ROUTE_KIND_SELF: "OWN_DUTY", ROUTE_KIND_TRANSFER: "OTHER_DUTY", ROUTE_KIND_OFFICE: "SEVERAL_DEPARTMENTS" }[kind];
  const target = form.elements.targetDepartment;
  const own = (claims() || {}).dept;
  const proposed = (disputeDoc || {}).proposedDepartment;
  if (proposed && proposed !== own && [...target.options].some(o => o.value === proposed)) target.value = proposed;
  else if (target.value === own || !target.value) {
    const other = [...target.options].find(o => o.value !== own);
    if (other) target.value = other.value;
  }
}
$("#act-route [name=kind]").addEventListener("change", () => syncRoute($("#act-route")));

// markInvalid outlines the form fields the server named and puts the
// Chinese sentence for each beside it.
function markInvalid(form, violations) {
  clearFieldErrors(form);
  for (const v of violations) {
    const el = form.querySelector(`[name="${CSS.escape(fieldKey(v.field))}"]`);
    if (!el) continue;
    el.classList.add("invalid");
    el.insertAdjacentElement("afterend", span(fieldSentence(v), "field-error"));
  }
}
function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach(el => el.remove());
  form.querySelectorAll(".invalid").forEach(el => el.classList.remove("invalid"));
}

async function submitAction(a, form) {
  const out = $("#action-result");
  form.querySelectorAll(".invalid").forEach(el => el.classList.remove("invalid"));
  if (!tracking) return;
  const name = tracking.name || disputeName();
  const body = a.path ? a.body(new FormData(form), name) : { ...a.body(new FormData(form)), name };
  if (a.etag) body.etag = tracking.etag || "";
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    await api("POST", a.path ? a.path(name) : `/v1/${name}:${a.verb}`, body);
    out.className = "result";
    out.textContent = a.verb === "withdraw" ? `${a.label}已受理，办理进度随后更新。` : `${a.label}已办理。`;
    out.hidden = false;
    form.hidden = true;
    if (a.leaves) {
      out.textContent += a.leaves;
      $("#action-buttons").replaceChildren();
      $("#no-actions").hidden = false;
      return;
    }
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
  if (tracking && readsDossier(tracking)) loadDossier();
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
  for (const sel of ["#act-officedecide .remedies", "#act-platform .remedies"]) $(sel).appendChild(lab.cloneNode(true));
  $("#act-object [name=remedy]").add(new Option(l, v));
}

// ---------------------------------------------------------------------------
// Printing: a plain link cannot carry the Authorization header, so the
// page is fetched with the token and opened from a Blob URL. The window is
// opened inside the click (so pop-up blockers allow it) and pointed at the
// page once it has arrived; print pages carry no script, so the console's
// Content-Security-Policy holds for them too.
async function openPrint(paper, forId) {
  const id = forId || disputeId();
  const errBox = $("#print-error");
  errBox.hidden = true;
  if (!id) { errBox.textContent = "请先输入编号（如 2026-1）。"; errBox.hidden = false; return; }
  const win = window.open("", "_blank");
  try {
    const res = await fetch(`/print/regions/${region()}/disputes/${encodeURIComponent(id)}/${paper}`, {
      credentials: "same-origin",
    });
    const html = await res.text();
    if (!res.ok) {
      if (res.status === 401 && me) sessionEnded(REASONS.SESSION_EXPIRED);
      // The print pages answer refusals as a Chinese page (h1 and a line);
      // anything else gets the sentence of its status.
      const doc = new DOMParser().parseFromString(html, "text/html");
      const title = doc.querySelector("h1")?.textContent || "";
      const detail = doc.querySelector("h1 + p")?.textContent || "";
      const chinese = /[\u4e00-\u9fff]/.test(title) ? `${title}${detail ? "：" + detail : ""}` : "";
      throw new Error(chinese || CODES[{ 400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 503: 14 }[res.status]] || GENERIC);
    }
    const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
    if (win) { win.location.href = url; } else { window.open(url, "_blank"); }
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    if (win) win.close();
    errBox.textContent = "打印失败：" + (e.message || "请稍后再试。");
    errBox.hidden = false;
  }
}
document.querySelectorAll("#print-buttons button").forEach(b =>
  b.addEventListener("click", () => openPrint(b.dataset.print)));


// ---------------------------------------------------------------------------
// Queues: the convenor's approvals, the opinions a unit owes, the 信访局's
// mass-dispute warnings. Each item links to its dispute.

function disputeLink(name) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.textContent = numberText(shortId(name));
  b.addEventListener("click", () => openDispute(shortId(name)));
  return b;
}
function queueItem(parts) {
  const div = document.createElement("div");
  div.className = "queue-item";
  for (const p of parts) if (p) div.appendChild(p instanceof Node ? p : span(p));
  return div;
}
function para(...nodes) {
  const p = document.createElement("p");
  for (const n of nodes) p.append(n instanceof Node ? n : String(n));
  return p;
}
// smallForm is a form of one text field and buttons; submit(button value, text) runs on each button.
function smallForm(fieldLabel, buttons, submit, required) {
  const f = document.createElement("form");
  f.autocomplete = "off";
  const lab = document.createElement("label");
  const ta = document.createElement("textarea");
  ta.name = "text";
  ta.rows = 2;
  ta.maxLength = 2000;
  lab.append(fieldLabel + " ", ta);
  f.appendChild(lab);
  const out = span("", "result");
  for (const [value, text] of buttons) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", async () => {
      if (required(value) && !ta.value.trim()) { out.className = "result error"; out.textContent = `请填写「${fieldLabel}」。`; return; }
      b.disabled = true;
      try { await submit(value, ta.value); out.className = "result"; out.textContent = "已办理。"; f.querySelectorAll("button, textarea").forEach(x => { x.disabled = true; }); }
      catch (e) { out.className = "result error"; out.textContent = describe(e); b.disabled = false; }
    });
    f.append(b, " ");
  }
  f.appendChild(out);
  return f;
}

async function loadApprovals() {
  const box = $("#approvals");
  box.replaceChildren();
  showError($("#approvals-error"), "");
  try {
    const res = await api("GET", `/v1/regions/${region()}/approvals?state=APPROVAL_STATE_PENDING&pageSize=50`);
    for (const a of res.approvals || []) {
      const parts = [para("事项：", disputeLink(a.dispute), `　报审时间：${fmtTime(a.requestTime)}`), para("报审事由：", a.summary || "")];
      if (hasRole("convenor")) {
        parts.push(smallForm("审批意见", [["true", "同意"], ["false", "不同意"]],
          (v, text) => api("POST", `/v1/${a.name}:decide`, { approve: v === "true", comment: text }), v => v === "false"));
      }
      box.appendChild(queueItem(parts));
    }
    $("#approvals-empty").hidden = (res.approvals || []).length > 0;
  } catch (e) { showError($("#approvals-error"), "加载失败：" + describe(e)); }
}

async function loadOpinionsOwed() {
  const box = $("#opinions");
  box.replaceChildren();
  showError($("#opinions-error"), "");
  let owed = 0;
  try {
    const res = await api("GET", `/v1/regions/${region()}/meetings?invitedUnit=${encodeURIComponent(me.unit)}&pageSize=50`);
    for (const m of res.meetings || []) {
      for (const d of m.disputes || []) {
        if ((m.opinions || []).some(o => o.unit === me.unit && o.dispute === d)) continue;
        owed++;
        box.appendChild(queueItem([para("事项：", disputeLink(d)), para(meetingText(m)),
          smallForm("本单位意见", [["", "提交书面意见"]], (_, text) => api("POST", `/v1/${m.name}/opinions`, { opinion: { dispute: d, text } }), () => true)]));
      }
    }
    $("#opinions-empty").hidden = owed > 0;
  } catch (e) { showError($("#opinions-error"), "加载失败：" + describe(e)); }
}

const TRIGGERS = { people_involved: "涉及人数达到预警标准", same_employer: "同一用人单位争议达到预警标准" };
async function loadWarnings() {
  const box = $("#warnings");
  box.replaceChildren();
  showError($("#warnings-error"), "");
  try {
    const res = await api("GET", `/v1/regions/${region()}/massWarnings?state=MASS_WARNING_STATE_PENDING&pageSize=50`);
    for (const w of res.massWarnings || []) {
      box.appendChild(queueItem([
        para("事项：", disputeLink(w.dispute), `　预警时间：${fmtTime(w.raiseTime)}`),
        para(`${TRIGGERS[w.trigger] || "达到群体性争议预警标准"}　涉及人数：${w.peopleInvolved || 0}　同一单位在办争议：${w.openDisputesSameEmployer || 0}`),
        smallForm("签收说明", [["", "签收（提前介入）"]], (_, text) => api("POST", `/v1/${w.name}:acknowledge`, { requestId: crypto.randomUUID(), note: text }), () => false),
      ]));
    }
    $("#warnings-empty").hidden = (res.massWarnings || []).length > 0;
  } catch (e) { showError($("#warnings-error"), "加载失败：" + describe(e)); }
}

// ---------------------------------------------------------------------------
// Statistics (统计): the archive's counters (GetStatistics), by one
// dimension over the months chosen; the office, the convenor and the
// platform (政法委) read the region's, a unit its own disputes'. Tables
// with totals and averages, charts (ECharts, served with the console) and
// the table as CSV.

const STATS_MEASURES = [
  ["registered", "登记"], ["closed", "办结"], ["replied", "书面告知"], ["repliedOnTime", "按期告知"],
  ["overdue", "超期"], ["returned", "退回"], ["extended", "延期"], ["followUps", "回访"], ["satisfied", "满意"],
];
const STATS_COLUMNS = ["登记", "办结", "书面告知", "按期告知", "按期告知率", "超期", "退回", "延期", "平均告知用时（工作日）", "回访", "满意", "满意率"];
const monthText = m => { const x = /^(\d{4})-(\d{2})$/.exec(m || ""); return x ? `${x[1]}年${Number(x[2])}月` : m; };
let statsTable = null; // {dimLabel, keyHeader, rows: [[label, ...values]], total}
let statsCharts = [];

function statsKeyLabel(dim, key) {
  if (dim === "month") return monthText(key);
  if (!key) return "（未记录）";
  if (dim === "category") return label(CATEGORIES, key);
  if (dim === "channel") return label(CHANNELS, key);
  if (dim === "state") return STATES[key] || "（其他状态）";
  if (dim === "jurisdiction") return jurisdictionName(key) || "（名册外乡镇）";
  return deptName(key);
}
const pct = (a, b) => b ? `${(100 * a / b).toFixed(1)}%` : "—";
const avg = (a, b) => b ? (a / b).toFixed(1) : "—";
// statsLine is one row's cells: the measures, rates and the average.
function statsLine(m) {
  return [m.registered, m.closed, m.replied, m.repliedOnTime, pct(m.repliedOnTime, m.replied), m.overdue, m.returned, m.extended,
    avg(m.replyWorkingDays, m.replied), m.followUps, m.satisfied, pct(m.satisfied, m.followUps)];
}
function addMeasures(into, r) {
  for (const [k] of STATS_MEASURES) into[k] = (into[k] || 0) + Number(r[k] || 0);
  into.replyWorkingDays = (into.replyWorkingDays || 0) + Number(r.replyWorkingDays || 0);
  return into;
}
// monthStart is the instant a month ("2026-03") begins in Beijing.
const monthStart = m => new Date(`${m}-01T00:00:00+08:00`);
const nextMonth = m => { const [y, mo] = m.split("-").map(Number); return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, "0")}`; };

function clearStats() {
  for (const c of statsCharts) c.dispose();
  statsCharts = [];
  statsTable = null;
  $("#stats-table thead tr").replaceChildren();
  $("#stats-table tfoot").replaceChildren();
  $("#stats-csv").disabled = true;
  $("#stats-scope").textContent = "";
  $("#stats-from").replaceChildren();
  $("#stats-to").replaceChildren();
}
// fillMonths offers the months of the last five years, in Chinese; the
// range starts as this year to this month.
function fillMonths() {
  if ($("#stats-to").options.length) return;
  const now = today().slice(0, 7);
  const months = [];
  for (let m = `${Number(now.slice(0, 4)) - 4}-01`; m <= now; m = nextMonth(m)) months.push([m, monthText(m)]);
  months.reverse();
  fillSelect($("#stats-from"), months, false);
  fillSelect($("#stats-to"), months, false);
  $("#stats-from").value = `${now.slice(0, 4)}-01`;
  $("#stats-to").value = now;
}

async function loadStats() {
  const err = $("#stats-error");
  showError(err, "");
  fillMonths();
  const from = $("#stats-from").value, to = $("#stats-to").value;
  if (from > to) { showError(err, "起始月份不能晚于截止月份。"); return; }
  const dim = $("#stats-dim").value;
  $("#stats-scope").textContent = hasRole("office", "convenor", "platform")
    ? `统计范围：${(me || {}).regionName || ""}全部争议事项。` : `统计范围：${(me || {}).unitName || ""}登记、承办或曾承办的争议事项。`;
  const q = new URLSearchParams({ startTime: monthStart(from).toISOString(), endTime: monthStart(nextMonth(to)).toISOString() });
  let res;
  try {
    res = await api("GET", `/v1/regions/${region()}/statistics?${q}`);
  } catch (e) { showError(err, "统计失败：" + describe(e)); return; }
  const rows = res.rows || [];
  // By key of the dimension (or by month of the totals), summed over months.
  const byKey = new Map();
  const byMonth = new Map();
  for (const r of rows) {
    if (r.dimension === "total") addMeasures(byMonth.get(r.month) || byMonth.set(r.month, {}).get(r.month), r);
    const k = dim === "month" ? (r.dimension === "total" ? r.month : null) : (r.dimension === dim ? r.key || "" : null);
    if (k === null) continue;
    addMeasures(byKey.get(k) || byKey.set(k, {}).get(k), r);
  }
  const keys = [...byKey.keys()].sort((a, b) => dim === "month" ? a.localeCompare(b) : byKey.get(b).registered - byKey.get(a).registered);
  const total = [...byMonth.values()].reduce((t, m) => addMeasures(t, m), {});
  const dimLabel = $("#stats-dim").selectedOptions[0].textContent;
  statsTable = {
    dimLabel, from, to,
    rows: keys.map(k => [statsKeyLabel(dim, k), ...statsLine(byKey.get(k))]),
    total: ["合计", ...statsLine(total)],
  };
  const head = $("#stats-table thead tr");
  head.replaceChildren();
  headCells(head, [dimLabel, ...STATS_COLUMNS]);
  [...head.children].slice(1).forEach(th => th.classList.add("num"));
  const tb = $("#stats-table tbody");
  tb.replaceChildren();
  for (const r of statsTable.rows) numberCells(tb.insertRow(), r);
  const foot = $("#stats-table tfoot");
  foot.replaceChildren();
  if (keys.length) numberCells(foot.insertRow(), statsTable.total);
  $("#stats-empty").hidden = keys.length > 0;
  $("#stats-csv").disabled = false;
  drawStats(dim, keys, byKey, byMonth);
}
function numberCells(tr, values) {
  cells(tr, values);
  [...tr.cells].slice(1).forEach(td => td.classList.add("num"));
}

// drawStats draws the dimension's bars and the months' lines. Tooltips are
// drawn on the canvas (richText), never as HTML.
function drawStats(dim, keys, byKey, byMonth) {
  for (const c of statsCharts) c.dispose();
  statsCharts = [];
  if (typeof echarts === "undefined") return;
  const base = { animation: false, textStyle: { fontFamily: "sans-serif" }, tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0 }, grid: { left: 48, right: 16, top: 40, bottom: 72 } };
  const bars = echarts.init($("#stats-chart-keys"));
  bars.setOption({
    ...base,
    title: { text: "", show: false },
    xAxis: { type: "category", data: keys.map(k => statsKeyLabel(dim, k)), axisLabel: { interval: 0, rotate: keys.length > 4 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [["registered", "登记"], ["closed", "办结"], ["replied", "书面告知"], ["overdue", "超期"]].map(([k, n]) =>
      ({ name: n, type: "bar", data: keys.map(x => byKey.get(x)[k] || 0) })),
  });
  const months = [...byMonth.keys()].sort();
  const lines = echarts.init($("#stats-chart-months"));
  lines.setOption({
    ...base,
    xAxis: { type: "category", data: months.map(monthText) },
    yAxis: { type: "value", minInterval: 1 },
    series: [["registered", "登记"], ["closed", "办结"], ["repliedOnTime", "按期告知"], ["overdue", "超期"]].map(([k, n]) =>
      ({ name: n, type: "line", data: months.map(m => byMonth.get(m)[k] || 0) })),
  });
  statsCharts = [bars, lines];
}

// statsCSV is the table on screen as CSV: UTF-8 with a byte-order mark, so
// spreadsheet programs read the Chinese.
function statsCSV() {
  if (!statsTable) return "";
  const q = v => { const t = String(v == null ? "" : v); return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t; };
  const lines = [[statsTable.dimLabel, ...STATS_COLUMNS], ...statsTable.rows, statsTable.total].map(r => r.map(q).join(","));
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}
$("#stats-csv").addEventListener("click", () => {
  const csv = statsCSV();
  if (!csv) return;
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `争议事项统计_${statsTable.dimLabel}_${statsTable.from}至${statsTable.to}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
});
$("#stats-form").addEventListener("submit", ev => { ev.preventDefault(); loadStats(); });
$("#stats-dim").addEventListener("change", () => loadStats());
$("#stats-from").addEventListener("change", () => loadStats());
$("#stats-to").addEventListener("change", () => loadStats());

// ---------------------------------------------------------------------------
// Roster page

async function loadRosterPage() {
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
    headCells(table.createTHead().insertRow(), ["成员单位", "负责人", "受理部门", "工作人员"]);
    const tb = table.createTBody();
    for (const u of r.units || []) {
      const staff = (u.staff || []).map(m => `${m.displayName}（${(m.roles || []).map(x => ROLES[x] || "").filter(Boolean).join("、")}）`).join("；");
      cells(tb.insertRow(), [u.name, u.head, u.intakePoint ? "是" : "否", staff]);
    }
    div.appendChild(table);
    const jt = document.createElement("table");
    headCells(jt.createTHead().insertRow(), ["乡镇（街道）", "类别"]);
    const jb = jt.createTBody();
    for (const j of r.jurisdictions || []) cells(jb.insertRow(), [j.name, j.kind]);
    div.appendChild(jt);
    const edit = $("#staff-edit");
    edit.hidden = !hasRole("admin");
    const unitSel = edit.elements.unit;
    const keep = unitSel.value;
    fillSelect(unitSel, (r.units || []).map(u => [u.id, u.name]), false);
    if (keep) unitSel.value = keep;
    fillRosterForms(r);
    rosterShownEtag = r.etag;
    if (hasRole("admin", "office")) loadRosterChanges("");
  } catch (e) { div.textContent = "加载失败：" + describe(e); }
}
$("#load-roster").addEventListener("click", loadRosterPage);

// Staff upkeep by the roster administrator: add, rename or re-role a person
// (by login id, which is never shown on a page) or remove them, with a reason.
for (const [v, l] of Object.entries(ROLES)) {
  const lab = document.createElement("label");
  lab.className = "inline";
  const c = document.createElement("input");
  c.type = "checkbox";
  c.name = "roles";
  c.value = v;
  lab.append(c, " " + l);
  $("#staff-edit .roles").appendChild(lab);
}
async function editStaff(remove) {
  const form = $("#staff-edit");
  const out = $("#staff-result");
  clearFieldErrors(form);
  const f = new FormData(form);
  const id = String(f.get("id") || "").trim();
  if (!id || !String(f.get("reason") || "").trim() || (!remove && !String(f.get("displayName") || "").trim())) {
    out.className = "result error";
    showError(out, remove ? "请填写登录账号和变更原因。" : "请填写登录账号、姓名和变更原因。");
    return;
  }
  try {
    const { roster: r } = await api("GET", `/v1/regions/${region()}/roster`);
    let found = false;
    for (const u of r.units || []) {
      const before = (u.staff || []).length;
      u.staff = (u.staff || []).filter(m => m.id !== id);
      found = found || u.staff.length !== before;
    }
    if (remove && !found) { out.className = "result error"; showError(out, "名册中没有该人员。"); return; }
    if (!remove) {
      const unit = (r.units || []).find(u => u.id === f.get("unit"));
      unit.staff.push({ id, displayName: String(f.get("displayName")).trim(), roles: f.getAll("roles") });
    }
    await api("PATCH", `/v1/${r.name}`, { roster: r, updateMask: "units", reason: f.get("reason") });
    form.reset();
    out.className = "result";
    showError(out, remove ? "已移除。" : "已保存。");
    loadRosterPage();
  } catch (e) {
    out.className = "result error";
    showError(out, "保存失败：" + describe(e));
    if (e instanceof ApiError) markInvalid(form, e.violations);
  }
}
$("#staff-edit").addEventListener("submit", ev => { ev.preventDefault(); editStaff(false); });
$("#staff-remove").addEventListener("click", () => editStaff(true));

// ---------------------------------------------------------------------------
// Roster administration: units, leadership and jurisdictions, each edit
// with a reason. A form keeps the etag of the roster it was filled from: an
// edit made on a roster someone else has changed since is refused
// (ETAG_MISMATCH) and the page asks to reload.

let rosterShownEtag = "";
const formEtag = {}; // form id -> etag of the roster the form was filled from

for (const [v, l] of CATEGORIES) {
  const lab = document.createElement("label");
  lab.className = "inline";
  const c = document.createElement("input");
  c.type = "checkbox";
  c.name = "defaultCategories";
  c.value = v;
  lab.append(c, " " + l);
  $("#unit-edit .categories").appendChild(lab);
}

function fillRosterForms(r) {
  const admin = hasRole("admin");
  for (const id of ["#unit-edit", "#leadership-edit", "#jurisdiction-edit"]) $(id).hidden = !admin;
  if (!admin) return;
  const uf = $("#unit-edit"), jf = $("#jurisdiction-edit"), lf = $("#leadership-edit");
  const keepUnit = uf.elements.pick.value, keepJ = jf.elements.pick.value;
  fillSelect(uf.elements.pick, (r.units || []).map(u => [u.id, u.name]), true);
  uf.elements.pick.value = (r.units || []).some(u => u.id === keepUnit) ? keepUnit : "";
  fillSelect(jf.elements.pick, (r.jurisdictions || []).map(j => [j.code, j.name]), true);
  jf.elements.pick.value = (r.jurisdictions || []).some(j => j.code === keepJ) ? keepJ : "";
  fillSelect(lf.elements.officeHostUnit, (r.units || []).map(u => [u.id, u.name]), false);
  // A form being typed into is left alone; the others show the roster now.
  if (!uf.dataset.dirty) pickUnit(r);
  if (!jf.dataset.dirty) pickJurisdiction(r);
  if (!lf.dataset.dirty) fillLeadership(r);
}
for (const id of ["#unit-edit", "#leadership-edit", "#jurisdiction-edit"]) {
  $(id).addEventListener("input", ev => { if (ev.target.name !== "pick") $(id).dataset.dirty = "1"; });
}

function pickUnit(r) {
  const f = $("#unit-edit");
  const u = (r.units || []).find(u => u.id === f.elements.pick.value);
  f.elements.id.value = u ? u.id : "";
  f.elements.id.disabled = !!u;
  f.elements.name.value = u ? u.name : "";
  f.elements.duties.value = u ? (u.duties || []).join("\n") : "";
  f.elements.intakePoint.checked = !!(u && u.intakePoint);
  for (const c of f.querySelectorAll("[name=defaultCategories]")) c.checked = !!(u && (u.defaultCategories || []).includes(c.value));
  f.elements.head.value = u ? u.head || "" : "";
  f.elements.reason.value = "";
  delete f.dataset.dirty;
  formEtag["unit-edit"] = r.etag;
}
function pickJurisdiction(r) {
  const f = $("#jurisdiction-edit");
  const j = (r.jurisdictions || []).find(j => j.code === f.elements.pick.value);
  f.elements.code.value = j ? j.code : "";
  f.elements.code.disabled = !!j;
  f.elements.name.value = j ? j.name : "";
  f.elements.kind.value = j ? j.kind || "乡镇" : "乡镇";
  f.elements.reason.value = "";
  delete f.dataset.dirty;
  formEtag["jurisdiction-edit"] = r.etag;
}
function fillLeadership(r) {
  const f = $("#leadership-edit");
  const l = r.leadership || {};
  f.elements.convenorName.value = l.convenor?.name || "";
  f.elements.convenorTitle.value = l.convenor?.title || "";
  f.elements.deputies.value = (l.deputyConvenors || []).map(p => [p.name, p.title].filter(Boolean).join(" ")).join("\n");
  f.elements.officeHostUnit.value = l.officeHostUnit || "";
  f.elements.directorName.value = l.officeDirector?.name || "";
  f.elements.directorTitle.value = l.officeDirector?.title || "";
  f.elements.reason.value = "";
  delete f.dataset.dirty;
  formEtag["leadership-edit"] = r.etag;
}
$("#unit-edit [name=pick]").addEventListener("change", () => roster && pickUnit(roster));
$("#jurisdiction-edit [name=pick]").addEventListener("change", () => roster && pickJurisdiction(roster));

const lines = v => String(v || "").split("\n").map(x => x.trim()).filter(Boolean);

// saveRoster sends one field of the roster (built by change from a copy of
// the roster the form was filled from) with the form's reason.
async function saveRoster(form, field, change) {
  // The attribute, not form.id: a control named "id" shadows that property.
  const fid = form.getAttribute("id");
  const out = $("#" + fid.replace("-edit", "-result"));
  clearFieldErrors(form);
  const reason = form.elements.reason.value.trim();
  if (!reason) { out.className = "result error"; showError(out, "请填写变更原因。"); markInvalid(form, [{ field: "reason", description: "required" }]); return; }
  const r = JSON.parse(JSON.stringify(roster));
  const problem = change(r);
  if (problem) { out.className = "result error"; showError(out, problem); return; }
  const body = { roster: { name: r.name, etag: formEtag[fid] || r.etag, [camel(field)]: r[camel(field)] }, updateMask: field, reason };
  try {
    const res = await api("PATCH", `/v1/${r.name}`, body);
    roster = res.roster;
    delete form.dataset.dirty;
    out.className = "result";
    showError(out, "已保存。");
    await loadRosterPage();
    loadRosterOptions();
  } catch (e) {
    out.className = "result error";
    if (e instanceof ApiError && (e.code === 10 || e.reason === "ETAG_MISMATCH")) {
      showError(out, "名册已被他人修改，您的修改未保存。请点击「刷新」重新加载名册，核对后再修改。");
      return;
    }
    showError(out, "保存失败：" + describe(e));
    if (e instanceof ApiError) markInvalid(form, e.violations);
  }
}

$("#unit-edit").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target;
  saveRoster(f, "units", r => {
    const pick = f.elements.pick.value;
    let u = (r.units || []).find(u => u.id === pick);
    if (!u) {
      const id = f.elements.id.value.trim();
      if (!id) return "请填写新增单位的单位代码。";
      if ((r.units || []).some(u => u.id === id)) return "该单位代码已在名册中。";
      u = { id, staff: [] };
      r.units = [...(r.units || []), u];
    }
    if (!f.elements.name.value.trim()) return "请填写单位名称。";
    u.name = f.elements.name.value.trim();
    u.duties = lines(f.elements.duties.value);
    u.intakePoint = f.elements.intakePoint.checked;
    u.defaultCategories = [...f.querySelectorAll("[name=defaultCategories]:checked")].map(c => c.value);
    u.head = f.elements.head.value.trim();
    return "";
  });
});
$("#leadership-edit").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target;
  saveRoster(f, "leadership", r => {
    const l = r.leadership || {};
    if (!f.elements.convenorName.value.trim()) return "请填写召集人姓名。";
    l.convenor = { ...(l.convenor || {}), name: f.elements.convenorName.value.trim(), title: f.elements.convenorTitle.value.trim() };
    l.deputyConvenors = lines(f.elements.deputies.value).map(x => {
      const [name, ...title] = x.split(/\s+/);
      return { name, title: title.join(" ") };
    });
    l.officeHostUnit = f.elements.officeHostUnit.value;
    l.officeDirector = { ...(l.officeDirector || {}), name: f.elements.directorName.value.trim(), title: f.elements.directorTitle.value.trim() };
    if (!l.officeDirector.name) delete l.officeDirector;
    r.leadership = l;
    return "";
  });
});
$("#jurisdiction-edit").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target;
  saveRoster(f, "jurisdictions", r => {
    const pick = f.elements.pick.value;
    let j = (r.jurisdictions || []).find(j => j.code === pick);
    if (!j) {
      const code = f.elements.code.value.trim();
      if (!code) return "请填写新增乡镇（街道）的区划代码。";
      if ((r.jurisdictions || []).some(j => j.code === code)) return "该区划代码已在名册中。";
      j = { code };
      r.jurisdictions = [...(r.jurisdictions || []), j];
    }
    if (!f.elements.name.value.trim()) return "请填写乡镇（街道）名称。";
    j.name = f.elements.name.value.trim();
    j.kind = f.elements.kind.value;
    return "";
  });
});

// The audit trail: who changed what, when and why (administrators and the
// office).
const ROSTER_FIELDS = { region_name: "地区名称", units: "成员单位及工作人员", leadership: "召集人、副召集人和办公室", jurisdictions: "乡镇（街道）" };
let rosterChangesNext = "";
async function loadRosterChanges(token) {
  const block = $("#roster-changes-block");
  block.hidden = false;
  const tbody = $("#roster-changes tbody");
  const q = new URLSearchParams({ pageSize: "20" });
  if (token) q.set("pageToken", token);
  try {
    const res = await api("GET", `/v1/regions/${region()}/roster/changes?${q}`);
    if (!token) tbody.replaceChildren();
    for (const c of res.changes || []) {
      const what = [(c.fields || []).map(f => ROSTER_FIELDS[f] || "其他").join("、")];
      if ((c.unitsAdded || []).length) what.push("新增单位：" + c.unitsAdded.map(deptName).join("、"));
      if ((c.unitsRemoved || []).length) what.push("移除单位：" + c.unitsRemoved.length + "个");
      if ((c.staffAdded || []).length) what.push("新增或调整人员：" + c.staffAdded.map(x => staffName(x.split("/")[1])).join("、"));
      if ((c.staffRemoved || []).length) what.push("移除或调整人员：" + c.staffRemoved.length + "人");
      // A change made outside the roster's staff (disputectl's service
      // identity, or a person since removed) names no one.
      const who = c.actorDisplayName ? `${deptName(c.actorDepartment)} ${c.actorDisplayName}` : "名册外人员（如管理命令行）";
      cells(tbody.insertRow(), [fmtTime(c.changeTime), who, what.join("\n"), c.reason]);
    }
    rosterChangesNext = res.nextPageToken || "";
    $("#roster-changes-more").hidden = !rosterChangesNext;
  } catch (e) {
    if (!token) tbody.replaceChildren();
    tbody.insertRow().insertCell().textContent = "变更记录加载失败：" + describe(e);
  }
}
$("#roster-changes-more").addEventListener("click", () => loadRosterChanges(rosterChangesNext));

// Live: while the roster page is open it looks for a newer roster every few
// seconds and shows it, so an edit made elsewhere appears without 刷新.
setInterval(async () => {
  if (!me || $("#page-roster").hidden || document.hidden) return;
  try {
    const { roster: r } = await api("GET", `/v1/regions/${region()}/roster`);
    if (r.etag !== rosterShownEtag) loadRosterPage();
  } catch (e) { /* the next look tries again */ }
}, 3000);

// ---------------------------------------------------------------------------
// A missing calendar year: every signed-in person sees it, so the
// administrator hears of it; deadlines reaching into it are refused.

async function checkCalendar() {
  const banner = $("#calendar-banner");
  if (!me) { banner.hidden = true; return; }
  try {
    const { calendarStatus: st } = await api("GET", `/v1/regions/${region()}/calendarStatus`);
    const years = st.missingYears || [];
    banner.textContent = years.length
      ? `${years.map(y => y + "年").join("、")}工作日历尚未载入：期限跨入该年的操作将被拒绝，请管理员载入国务院放假安排。`
      : "";
    banner.hidden = !years.length;
  } catch (e) { /* no banner rather than a wrong one */ }
}
setInterval(checkCalendar, 10 * 60 * 1000);

// At start: the session the cookie holds, if any, else the sign-in page.
(async () => {
  clearAll();
  refreshWho();
  try {
    const res = await fetch("/auth/session", { credentials: "same-origin" });
    const data = await res.json();
    if (data.signedIn) { signedIn(data); return; }
    showLogin(data.expired ? REASONS.SESSION_EXPIRED : "");
    return;
  } catch (e) { /* shown on the sign-in page */ }
  showLogin("");
})();
