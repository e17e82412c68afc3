package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.zx2c4.com/wireguard/device"
)

var (
	// unparsedLine is wireguard-go's text for a line without "=".
	unparsedLine = regexp.MustCompile(`^failed to parse line ("(?:[^"\\]|\\.)*")$`)
	// keyShaped is a run of base64 or hex at least as long as a key.
	keyShaped = regexp.MustCompile(`[A-Za-z0-9+/]{43,}=*`)
	// secretValue is the value after a private or preshared key's name.
	secretValue = regexp.MustCompile(`(?i)((?:private|preshared)[_ ]?key["'=: ]*)[^\s"',;]{16,}`)
)

// settingsError says in the user's terms why UAPI "set" text was refused.
// It never repeats a private or preshared key from settings: wireguard-go's
// own text may (a line without "=" is quoted whole).
func settingsError(err error, settings string) string {
	if section := confSection(settings); section != "" {
		return fmt.Sprintf("settings look like a .conf file (%s); pass UAPI text (key=value lines), "+
			"or use Interface.from_conf", section)
	}
	var ipcErr *device.IPCError
	if errors.As(err, &ipcErr) {
		err = ipcErr.Unwrap() // drop "IPC error <code>:", which tells a user nothing
	}
	text := err.Error()
	if m := unparsedLine.FindStringSubmatch(text); m != nil {
		line, _ := strconv.Unquote(m[1])
		return fmt.Sprintf("failed to parse line %q: settings are UAPI key=value lines", redactLine(line))
	}
	for _, key := range []string{"private_key", "preshared key"} {
		if strings.HasPrefix(text, "failed to set "+key) {
			return fmt.Sprintf("%s is not a key: it must be 64 hex digits (32 bytes)",
				strings.ReplaceAll(key, " ", "_"))
		}
	}
	return keyShaped.ReplaceAllString(text, "(hidden)")
}

// confSection is the first "[Section]" line of settings, or "".
func confSection(settings string) string {
	for _, line := range strings.Split(settings, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			return line
		}
	}
	return ""
}

// redactLine hides the value of a private or preshared key line and any
// key-shaped run of characters.
func redactLine(line string) string {
	name := strings.ToLower(strings.ReplaceAll(line, "_", ""))
	if strings.HasPrefix(name, "privatekey") || strings.HasPrefix(name, "presharedkey") {
		if i := strings.IndexAny(line, " \t:="); i >= 0 {
			return line[:i] + " (hidden)"
		}
	}
	return keyShaped.ReplaceAllString(line, "(hidden)")
}

// redactSecrets hides private and preshared key values and key-shaped runs
// in a log line (wireguard-go logs a refused settings line whole).
func redactSecrets(line string) string {
	return keyShaped.ReplaceAllString(secretValue.ReplaceAllString(line, "${1}(hidden)"), "(hidden)")
}
