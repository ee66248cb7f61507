package msgstream

import (
	"errors"
	"strings"
	"testing"
)

func collect(t *testing.T, stream string) ([]string, error) {
	t.Helper()
	var got []string
	for m, err := range Decode(strings.NewReader(stream)) {
		if err != nil {
			return got, err
		}
		got = append(got, m.Status+m.Stream)
	}
	return got, nil
}

func TestDecodeYieldsMessagesInOrder(t *testing.T) {
	got, err := collect(t, `{"status":"Pulling"}{"stream":"Step 1/2\n"}`+"\n"+`{"status":"Done","id":"abc"}`)
	if err != nil || len(got) != 3 || got[0] != "Pulling" || got[2] != "Done" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecodeTurnsStreamErrorsIntoErrorsWithOutput(t *testing.T) {
	stream := `{"stream":"Step 2/2 : RUN false\n"}{"stream":"boom happened\n"}` +
		`{"errorDetail":{"code":3,"message":"The command returned a non-zero code: 3"},"error":"x"}{"stream":"never seen"}`
	got, err := collect(t, stream)
	var se *StreamError
	if !errors.As(err, &se) || se.Code != 3 || len(got) != 2 {
		t.Fatalf("got %q, %v", got, err)
	}
	if !strings.Contains(err.Error(), "boom happened") || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Errorf("error lacks the output: %v", err)
	}
}

func TestDecodeOlderErrorField(t *testing.T) {
	_, err := collect(t, `{"error":"manifest unknown"}`)
	if err == nil || err.Error() != "manifest unknown" {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	_, err := collect(t, `{"status":"ok"}{garbage`)
	if err == nil || !strings.Contains(err.Error(), "decode engine message stream") {
		t.Fatalf("got %v", err)
	}
}

func TestOutputKeepsOnlyTheTail(t *testing.T) {
	var b strings.Builder
	for range 100 {
		b.WriteString(`{"stream":"line\n"}`)
	}
	b.WriteString(`{"stream":"last line\n"}{"errorDetail":{"message":"failed"}}`)
	_, err := collect(t, b.String())
	var se *StreamError
	if !errors.As(err, &se) || len(se.Output) != tail || se.Output[tail-1] != "last line" {
		t.Fatalf("output %q", se.Output)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"status":"x"}{"errorDetail":{"message":"m"}}`)
	f.Add(`{"aux":{"ID":"sha256:1"}}`)
	f.Add(`{"stream":"a\nb\n"}{"error":"e"}`)
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		for _, err := range Decode(strings.NewReader(s)) {
			n++
			if err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
			if n > len(s)+1 {
				t.Fatal("more messages than bytes")
			}
		}
	})
}
