-- typeinf for Neovim 0.11+ (vim.lsp.config / vim.lsp.enable). Put this file in
-- ~/.config/nvim/lsp/typeinf.lua, or require it from init.lua, then: vim.lsp.enable("typeinf")
vim.lsp.config("typeinf", {
  cmd = { "typeinf", "lsp" },
  filetypes = { "python", "typescript", "typescriptreact" },
  root_markers = { "pyproject.toml", "package.json", ".git" },
  init_options = {
    typeinf = {
      inlayHints = { parameters = true, returns = true, variables = true },
      -- minConfidence = 0.9,  -- default: the model's >= 95%-precision threshold
      maxHints = 500,
    },
  },
})
vim.lsp.enable("typeinf")

-- show the predicted types as inlay hints in buffers typeinf is attached to
vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == "typeinf" then
      vim.lsp.inlay_hint.enable(true, { bufnr = args.buf })
    end
  end,
})
