// Text from users and files (file names, .npy headers, variant specs) reaches error lines and
// reports. Escaping its control bytes keeps every message on one line and keeps escape
// sequences away from the terminal.
#pragma once
#include <string>

namespace attn {

// \n, \r, \t as those two characters, other bytes below 0x20 and 0x7f (DEL) as \xNN, and a
// backslash as itself; everything else (UTF-8 included) unchanged.
std::string printable(const std::string& text);

}  // namespace attn
