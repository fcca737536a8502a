-- typeinf for Neovim 0.10 (vim.lsp.start, no vim.lsp.config yet). Require it from init.lua.
vim.api.nvim_create_autocmd("FileType", {
  pattern = { "python", "typescript", "typescriptreact" },
  callback = function(args)
    vim.lsp.start({
      name = "typeinf",
      cmd = { "typeinf", "lsp" },
      root_dir = vim.fs.root(args.buf, { "pyproject.toml", "package.json", ".git" }),
      init_options = { typeinf = { maxHints = 500 } },
    })
  end,
})
vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == "typeinf" then
      vim.lsp.inlay_hint.enable(true, { bufnr = args.buf })
    end
  end,
})
