// The definitions behind the {fmt} headers, compiled into weft-proxy instead of linking
// libfmt.so (docs/decisions.md 39; see spdlog_definitions.cc). format-inl.h holds the
// library's out-of-line functions; the templates format.h declares "extern" for char are
// instantiated here.

#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
}  // namespace detail
FMT_END_NAMESPACE
