// Package offloads holds the switch that turns the kernel offloads of
// libwg's UDP bind (GSO/GRO) and TUN device (TSO/USO, checksums) off.
package offloads

import "os"

// RefuseVar is the environment variable that, set to 1 when a tunnel is
// turned on, makes its UDP sockets and TUN device take their plain
// paths whatever the kernel offers (tests of the fallbacks use it).
const RefuseVar = "WGCORE_REFUSE_OFFLOADS"

// Refused says whether RefuseVar is set to 1.
func Refused() bool { return os.Getenv(RefuseVar) == "1" }
