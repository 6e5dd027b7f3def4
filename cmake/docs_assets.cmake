# Run by every build (cmake/docs.cmake): brings the contract's generated
# files up to date in BIN, rewriting each only when its content changes so
# that nothing downstream rebuilds for nothing.
#   BIN/openapi.json        openapi.yaml converted by node (empty without node or node_modules)
#   BIN/docs/swagger-ui-bundle.js, BIN/docs/swagger-ui.css
#                           copied from node_modules/swagger-ui-dist (absent without it)
# A broken openapi.yaml fails the build; missing npm packages do not.
set(json ${BIN}/openapi.json)
set(yaml_pkg ${SRC}/node_modules/yaml/package.json)
if(NODE AND EXISTS ${yaml_pkg} AND EXISTS ${SRC}/openapi.yaml)
  execute_process(
    COMMAND ${NODE} ${SRC}/cmake/openapi_to_json.mjs ${SRC}/openapi.yaml ${json}.tmp
    WORKING_DIRECTORY ${SRC}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "openapi.yaml could not be converted to JSON (see above)")
  endif()
else()
  message(STATUS "duban docs: node, node_modules/yaml or openapi.yaml missing (run scripts/npm-setup); /openapi.json will answer 503")
  file(WRITE ${json}.tmp "")
endif()
file(COPY_FILE ${json}.tmp ${json} ONLY_IF_DIFFERENT)
file(REMOVE ${json}.tmp)

file(MAKE_DIRECTORY ${BIN}/docs)
set(dist ${SRC}/node_modules/swagger-ui-dist)
foreach(name swagger-ui-bundle.js swagger-ui.css)
  if(EXISTS ${dist}/${name})
    file(COPY_FILE ${dist}/${name} ${BIN}/docs/${name} ONLY_IF_DIFFERENT)
  else()
    message(STATUS "duban docs: ${dist}/${name} missing (run scripts/npm-setup); /docs will answer 503")
    file(REMOVE ${BIN}/docs/${name})
  endif()
endforeach()
