/* The log callback type shared by the cgo preambles; libwg.h repeats it. */
#include <stdint.h>
typedef void (*wg_log_sink)(uint32_t level, const char *msg, uint64_t ctx);
