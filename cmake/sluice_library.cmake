# sluice_library(NAME <name> DEPS <targets...>)
# One library per module: every .cc in the module folder, warnings as errors
# on our code only, and dependencies listed explicitly so they point one way
# (io and operators -> core, never back). Built as an object library
# (sluice_<name>_obj, reused by libsluice.a) wrapped in a static library
# (sluice::<name>, what the binaries and tests link).
function(sluice_library)
  cmake_parse_arguments(L "" "NAME" "DEPS;INCLUDES" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_library(sluice_${L_NAME}_obj OBJECT ${_srcs})
  add_library(sluice_${L_NAME} STATIC $<TARGET_OBJECTS:sluice_${L_NAME}_obj>)
  add_library(sluice::${L_NAME} ALIAS sluice_${L_NAME})
  foreach(_t sluice_${L_NAME}_obj sluice_${L_NAME})
    target_include_directories(${_t} PUBLIC ${PROJECT_SOURCE_DIR} ${L_INCLUDES})
    target_link_libraries(${_t} PUBLIC ${L_DEPS})
    set_target_properties(${_t} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endforeach()
  sluice_warnings(sluice_${L_NAME}_obj)
endfunction()

function(sluice_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 reports std::string concatenation at -O3 as an overlapping
    # memcpy (GCC bug 105651, fixed in 13): a false positive, not an error.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
