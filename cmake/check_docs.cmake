# ctest: docs/configuration.md must be what `sluice config-reference` prints,
# so the reference users read cannot drift from the registry's key tables.
# Regenerate with: build/debug/tools/sluice config-reference > docs/configuration.md
execute_process(COMMAND ${SLUICE} config-reference OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sluice config-reference failed (${rc})")
endif()
file(READ ${DOC} committed)
if(NOT generated STREQUAL committed)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/configuration.md.generated "${generated}")
  message(FATAL_ERROR "docs/configuration.md is out of date; regenerate it with `sluice config-reference > docs/configuration.md`")
endif()
