-- typeinf with nvim-lspconfig (which has no built-in entry for it): register it as a custom server.
local configs = require("lspconfig.configs")
local util = require("lspconfig.util")
if not configs.typeinf then
  configs.typeinf = {
    default_config = {
      cmd = { "typeinf", "lsp" },
      filetypes = { "python", "typescript", "typescriptreact" },
      root_dir = util.root_pattern("pyproject.toml", "package.json", ".git"),
      init_options = { typeinf = { maxHints = 500 } },
    },
  }
end
require("lspconfig").typeinf.setup({
  on_attach = function(_, bufnr)
    if vim.lsp.inlay_hint then
      vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
    end
  end,
})
