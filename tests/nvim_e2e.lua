-- Headless Neovim end-to-end check, driven by tests/test_neovim.py.
-- Starts `typeinf lsp` with Neovim's own LSP client, asks for inlay hints and a code action on a
-- real file, applies the returned edits with Neovim's own functions, writes the buffer and quits.
-- Environment: TYPEINF_CMD (JSON list: the server command), TYPEINF_FILE (the file to edit),
-- TYPEINF_LOG (where to write what happened).
local log = io.open(os.getenv("TYPEINF_LOG"), "w")
local function say(msg) log:write(msg .. "\n"); log:flush() end
local function fail(msg) say("FAIL " .. msg); log:close(); vim.cmd("cquit 1") end

local file = os.getenv("TYPEINF_FILE")
vim.cmd("edit " .. vim.fn.fnameescape(file))
local bufnr = vim.api.nvim_get_current_buf()
local cmd = vim.fn.json_decode(os.getenv("TYPEINF_CMD"))
local root = vim.fn.fnamemodify(file, ":h")

local client_id = vim.lsp.start_client({
  name = "typeinf",
  cmd = cmd,
  root_dir = root,
  init_options = { typeinf = { maxHints = 200, minConfidence = 0.0 } },
})
if not client_id then fail("start_client returned nil") end
vim.lsp.buf_attach_client(bufnr, client_id)
local client = vim.lsp.get_client_by_id(client_id)
if not vim.wait(30000, function() return client.initialized end, 100) then fail("not initialized") end
say("initialized")

local function hints()
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) },
                   range = { start = { line = 0, character = 0 }, ["end"] = { line = vim.api.nvim_buf_line_count(bufnr), character = 0 } } }
  local res = client.request_sync("textDocument/inlayHint", params, 30000, bufnr)
  if not res or res.err then return nil end
  return res.result
end

-- the model loads in the background: ask until hints arrive
local got = nil
vim.wait(60000, function() got = hints(); return got ~= nil and #got > 0 end, 500)
if not got or #got == 0 then fail("no inlay hints") end
say("hints " .. #got)

-- accept the return-type hint of `report`: apply its textEdits with Neovim's own function
local report_line = nil
for i, text in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
  if text:find("^def report%(") then report_line = i - 1 end
end
local accepted = nil
for _, h in ipairs(got) do
  if type(h.label) == "string" and h.label:sub(1, 2) == "->" and h.position.line == report_line then accepted = h; break end
end
if not accepted then fail("no return hint") end
vim.lsp.util.apply_text_edits(accepted.textEdits, bufnr, client.offset_encoding)
say("accepted " .. accepted.label)

-- a code action for the parameter `store` (a project type: needs an import), applied as a workspace edit
local line = nil
for i, text in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
  local col = text:find("store=None", 1, true)
  if col then line = { i - 1, col } break end
end
if not line then fail("no `store=None` in the buffer") end
-- wait until the server has analysed the edited version
vim.wait(3000, function() return false end, 200)
local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) },
                 range = { start = { line = line[1], character = line[2] }, ["end"] = { line = line[1], character = line[2] } },
                 context = { diagnostics = {} } }
local res = client.request_sync("textDocument/codeAction", params, 30000, bufnr)
if not res or res.err or not res.result then fail("code action request failed") end
local chosen = nil
for _, a in ipairs(res.result) do
  say("action " .. a.title)
  if a.title:find("^Annotate `store") then chosen = a end
end
if not chosen then fail("no annotate action for store") end
vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
vim.cmd("write")
say("applied " .. chosen.title)
log:close()
vim.lsp.stop_client(client_id)
vim.cmd("qall!")
