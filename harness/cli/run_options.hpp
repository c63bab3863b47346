// Option handling shared by the commands.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace attn {

// Sets the OpenMP thread count; throws UserError unless 1 <= threads <= 1024.
void set_thread_count(int threads);

// Stores a command's options into vm. A word that is not an option (a stray argument) is an
// error naming it: left alone, boost drops such words silently when no positional options are
// declared. Unknown options are boost's unknown_option error.
void store_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm);

// Parses a command's options into vm (store_command_line) and checks required ones. Returns false, having printed
// `desc`, when --help was given (the command then exits 0).
bool parse_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm);
// The same for commands that take file names as plain words (table, compare): they go to `files`.
bool parse_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm, std::vector<std::string>& files);

}  // namespace attn
