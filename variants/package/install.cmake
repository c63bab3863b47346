# What `cmake --install BUILD --prefix P` gives users: the public header and the headers it
# includes under P/include/attnbench/, the static libraries, the CMake package
# (find_package(attnbench) -> attnbench::attnbench), attnbench.pc and the attnbench tool.
# Every path is relative to the prefix, so P is chosen at install time. Components: library
# (all of the above), tool (bin/attnbench), python (harness/python); `--component` picks one.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(attn_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/attnbench)
install(TARGETS attn_kernels attn_variants attnbench_api EXPORT attnbench-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library)
install(EXPORT attnbench-targets NAMESPACE attnbench:: DESTINATION ${attn_cmake_dir} COMPONENT library)

# attnbench.hpp includes these by their bare names; side by side they resolve as quoted includes.
set(attn_public_headers
  variants/include/attnbench/attnbench.hpp
  variants/checked_attention.hpp
  variants/errors.hpp
  variants/isa_choice.hpp
  variants/variant.hpp
  variants/input_range.hpp
  variants/key_pattern.hpp
  variants/options.hpp
  variants/plan.hpp
  variants/precision.hpp
  kernels/problem.hpp
  kernels/isa.hpp
  kernels/aligned_buffer.hpp
  kernels/large_pages.hpp)
list(TRANSFORM attn_public_headers PREPEND ${PROJECT_SOURCE_DIR}/)
install(FILES ${attn_public_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attnbench COMPONENT library)

set(attn_package_dir ${CMAKE_CURRENT_LIST_DIR})
configure_package_config_file(${attn_package_dir}/attnbench-config.cmake.in
  ${PROJECT_BINARY_DIR}/package/attnbench-config.cmake INSTALL_DESTINATION ${attn_cmake_dir})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/attnbench-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/attnbench-config.cmake
              ${PROJECT_BINARY_DIR}/package/attnbench-config-version.cmake DESTINATION ${attn_cmake_dir}
        COMPONENT library)

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}).
file(RELATIVE_PATH attn_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" attn_pc_to_prefix "${attn_pc_to_prefix}")
string(REPLACE ";" " " attn_openmp_flags "${OpenMP_CXX_FLAGS}")
configure_file(${attn_package_dir}/attnbench.pc.in ${PROJECT_BINARY_DIR}/package/attnbench.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/attnbench.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT library)

install(TARGETS attnbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tool)
