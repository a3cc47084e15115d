# sluice_library(NAME <name> DEPS <targets...>)
# One static library per module: every .cc in the module folder, warnings as
# errors on our code only, and dependencies listed explicitly so they point
# one way (io and operators -> core, never back).
function(sluice_library)
  cmake_parse_arguments(L "" "NAME" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_library(sluice_${L_NAME} STATIC ${_srcs})
  add_library(sluice::${L_NAME} ALIAS sluice_${L_NAME})
  target_include_directories(sluice_${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(sluice_${L_NAME} PUBLIC ${L_DEPS})
  sluice_warnings(sluice_${L_NAME})
  set_target_properties(sluice_${L_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

function(sluice_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 reports std::string concatenation at -O3 as an overlapping
    # memcpy (GCC bug 105651, fixed in 13): a false positive, not an error.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
