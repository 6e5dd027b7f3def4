# The contract served by duban itself (api/docs.c):
# - openapi.yaml and its JSON conversion, and the /docs page and its start-up
#   script, are compiled into the executable (cmake/embed_file.cmake);
# - Swagger UI's two big files are copied from node_modules/swagger-ui-dist
#   into docs/ beside the executable, where duban finds them at run time
#   (or in $DUBAN_DOCS_DIR).
# The npm packages come from scripts/npm-setup. Without them (or without
# node) the build still succeeds and /openapi.json and /docs answer 503.
find_program(DUBAN_NODE NAMES node nodejs)

set(DOCS_JSON ${CMAKE_BINARY_DIR}/openapi.json)
set(DOCS_ASSETS ${CMAKE_BINARY_DIR}/docs/swagger-ui-bundle.js ${CMAKE_BINARY_DIR}/docs/swagger-ui.css)
# Runs on every build; rewrites its outputs only when they change.
add_custom_target(duban_docs_assets ALL
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DBIN=${CMAKE_BINARY_DIR} -DNODE=${DUBAN_NODE}
          -P ${CMAKE_SOURCE_DIR}/cmake/docs_assets.cmake
  BYPRODUCTS ${DOCS_JSON} ${DOCS_ASSETS}
  COMMENT "Converting openapi.yaml to JSON and copying Swagger UI"
  VERBATIM)

set(DOCS_EMBEDDED
  duban_openapi_yaml=${CMAKE_SOURCE_DIR}/openapi.yaml
  duban_openapi_json=${DOCS_JSON}
  duban_docs_index=${CMAKE_SOURCE_DIR}/api/docs/index.html
  duban_docs_init=${CMAKE_SOURCE_DIR}/api/docs/init.js)
set(DOCS_C ${CMAKE_BINARY_DIR}/docs_data.c)
# A source missing from a partial copy of the tree (a container build that
# leaves openapi.yaml out) is embedded empty and answers 503; it must not be
# a dependency, or the build would stop on it.
set(DOCS_DEPENDS ${DOCS_JSON} ${CMAKE_SOURCE_DIR}/cmake/embed_file.cmake)
foreach(src openapi.yaml api/docs/index.html api/docs/init.js)
  if(EXISTS ${CMAKE_SOURCE_DIR}/${src})
    list(APPEND DOCS_DEPENDS ${CMAKE_SOURCE_DIR}/${src})
  else()
    message(STATUS "duban docs: ${src} is missing; what it serves will answer 503")
  endif()
endforeach()
add_custom_command(
  OUTPUT ${DOCS_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${DOCS_C} "-DFILES=${DOCS_EMBEDDED}"
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_file.cmake
  DEPENDS ${DOCS_DEPENDS}
  COMMENT "Embedding openapi.yaml, openapi.json and the /docs page"
  VERBATIM)

target_sources(duban_core PRIVATE ${DOCS_C})
target_compile_definitions(duban_core PRIVATE DUBAN_DOCS_EMBEDDED=1)
add_dependencies(duban_core duban_docs_assets)
