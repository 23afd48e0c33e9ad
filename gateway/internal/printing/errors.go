package printing

import (
	"errors"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
)

// pageError is a failure shown to staff as a page in Chinese.
type pageError struct {
	status        int
	title, detail string
	// note is the service's own message, shown small where it helps staff
	// (which state the dispute is in, which field is wrong).
	note  string
	cause error
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.title + ": " + e.cause.Error()
	}
	return e.title
}

func (e *pageError) Unwrap() error { return e.cause }

// backendError maps a service's gRPC status to the page the caller sees.
// This is the one place where backend codes become HTTP codes for paper.
func backendError(service string, err error) error {
	st := status.Convert(err)
	pe := &pageError{cause: err}
	switch st.Code() {
	case codes.Unauthenticated:
		pe.status, pe.title, pe.detail = http.StatusUnauthorized, "未登录或令牌无效",
			"令牌缺失、无效或已过期，请重新登录后再打印。"
	case codes.PermissionDenied:
		pe.status, pe.title, pe.detail = http.StatusForbidden, "无权查看",
			"本部门无权查看该争议事项：只能打印本部门登记、承办或受邀参与办理的事项。"
	case codes.NotFound:
		pe.status, pe.title, pe.detail = http.StatusNotFound, "未找到",
			"没有找到该争议事项，请核对编号。"
	case codes.FailedPrecondition:
		pe.status, pe.title, pe.detail = http.StatusPreconditionFailed, "当前状态不能打印",
			"该争议事项当前所处的办理环节还不能出具此文书。"
		pe.note = st.Message()
	case codes.InvalidArgument:
		pe.status, pe.title, pe.detail = http.StatusBadRequest, "编号格式有误",
			"地址中的行政区划或争议事项编号格式不正确（编号形如 2026-17）。"
		pe.note = st.Message()
	case codes.ResourceExhausted:
		if apierr.Reason(err) == apierr.ReasonRateLimited {
			pe.status, pe.title, pe.detail = http.StatusTooManyRequests, "请求过于频繁",
				"本人或本部门在短时间内的请求超过了限额，请稍后重试。"
			break
		}
		pe.status, pe.title, pe.detail = http.StatusServiceUnavailable, "服务暂不可用",
			"后台服务暂时不可用（"+service+"），请稍后重试。"
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		pe.status, pe.title, pe.detail = http.StatusServiceUnavailable, "服务暂不可用",
			"后台服务暂时不可用（"+service+"），请稍后重试。"
	default:
		pe.status, pe.title, pe.detail = http.StatusInternalServerError, "系统错误",
			"生成打印页面时出错，请稍后重试或联系管理员。"
	}
	return pe
}

// fail writes err as a Chinese message page with its HTTP status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = &pageError{status: http.StatusInternalServerError, title: "系统错误",
			detail: "生成打印页面时出错，请稍后重试或联系管理员。", cause: err}
	}
	if pe.status >= 500 {
		h.log.ErrorContext(r.Context(), "print page failed", "path", r.URL.Path, "status", pe.status, "error", pe)
	}
	securityHeaders(w)
	if secs, ok := apierr.RetryAfterSeconds(pe.cause); ok && pe.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if pe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="disputes"`)
	}
	w.WriteHeader(pe.status)
	if err := h.pages["error"].ExecuteTemplate(w, "layout", page{Title: pe.title, Error: pe}); err != nil {
		h.log.ErrorContext(r.Context(), "render error page", "error", err)
	}
}
