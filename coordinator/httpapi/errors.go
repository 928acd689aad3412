package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/labstack/echo/v4"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// apiError is an error raised by this layer (bad input, rate limit).
type apiError struct {
	status     int
	code, msg  string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.msg }

func badRequest(code, format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

var kindStatus = map[coordinator.Kind]int{
	coordinator.KindInternal:        http.StatusInternalServerError,
	coordinator.KindInvalid:         http.StatusBadRequest,
	coordinator.KindUnauthenticated: http.StatusUnauthorized,
	coordinator.KindForbidden:       http.StatusForbidden,
	coordinator.KindNotFound:        http.StatusNotFound,
	coordinator.KindConflict:        http.StatusConflict,
	coordinator.KindUnprocessable:   http.StatusUnprocessableEntity,
	coordinator.KindUnavailable:     http.StatusServiceUnavailable,
	coordinator.KindTooMany:         http.StatusTooManyRequests,
}

// handleError is the one place errors become responses.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	status, code, msg := http.StatusInternalServerError, "internal", "internal error"
	var (
		de *coordinator.Error
		ae *apiError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &de):
		status, code, msg = Status(de.Kind), de.Code, de.Message
		if de.Kind == coordinator.KindTooMany {
			c.Response().Header().Set("Retry-After", "2")
		}
	case errors.As(err, &ae):
		status, code, msg = ae.status, ae.code, ae.msg
		if ae.retryAfter > 0 {
			secs := min(int64((ae.retryAfter+time.Second-1)/time.Second), 60)
			c.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}

	case errors.As(err, &he):
		status = he.Code
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		msg = http.StatusText(status)
		if status == http.StatusRequestEntityTooLarge {
			msg = fmt.Sprintf("request body is larger than %d bytes", MaxBody)
		}
	}
	if status >= 500 && !errors.Is(err, context.Canceled) {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", rid, "method", c.Request().Method,
			"path", c.Path(), "status", status, "err", err)
	} else {
		s.log.DebugContext(c.Request().Context(), "request refused", "request_id", rid, "status", status, "code", code, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: rid}})
}

// decode reads a strict JSON body into v: the right content type, no
// unknown fields, one object and nothing after it.
func decode(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != echo.MIMEApplicationJSON {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return badRequest("unreadable_body", "could not read the request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("malformed_json", "request body is not valid JSON (at byte %d)", se.Offset)
		case errors.As(err, &te):
			return badRequest("invalid_field", "field %q must be a %s", te.Field, te.Type.String())
		case errors.Is(err, io.EOF):
			return badRequest("malformed_json", "request body is empty")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return badRequest("unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return badRequest("malformed_json", "request body is not valid JSON")
	}
	if dec.More() {
		return badRequest("malformed_json", "request body has data after the JSON object")
	}
	return nil
}
