--[[
quarto-compat.lua: the subset of Quarto markdown used by the observatory reports, for plain
pandoc (HTML and Typst writers), so that reports render identically with or without Quarto.

Supported:
  * figures `![Caption](x.png){#fig-x fig-alt="..." width="90%"}` numbered "Figure 1 : ..."
    (HTML: the <img> alt comes from fig-alt, as in Quarto; Typst: native numbered figure);
  * captioned pipe tables `: Caption {#tbl-x}` numbered "Tableau 1 : ...";
  * cross-references @fig-x, @tbl-x, @sec-x (and @Fig-x for a capital, -@fig-x for the number
    only) resolved to "figure 1", "tableau 2", "section 3";
  * callouts `::: {.callout-note}` (note, tip, important, warning, caution) with an optional
    first heading used as the title;
  * the `{{< pagebreak >}}` shortcode;
  * `::: {.key-figures}` holding a bullet list of `**value** label` items;
  * numeric table columns without explicit alignment are right-aligned, others left-aligned.

Errors (unknown cross-reference, unsupported shortcode...) are collected and raised once, as a
single line starting with "[observatoire]" that render.py turns into a RenderError.
]]

local stringify = pandoc.utils.stringify

local IS_TYPST = FORMAT:match('typst') ~= nil
local NBSP = '\u{00A0}'
local NNBSP = '\u{202F}'
local ERROR_TAG = '[observatoire] '

local KINDS = {
  fig = { lower = 'figure', upper = 'Figure' },
  tbl = { lower = 'tableau', upper = 'Tableau' },
  sec = { lower = 'section', upper = 'Section' },
}

-- Quarto's French titles for callouts without an explicit title.
local CALLOUT_TITLES = {
  note = 'Note',
  tip = 'Astuce',
  important = 'Important',
  warning = 'Avertissement',
  caution = 'Prudence',
}

local errors = {}
local seen_errors = {}

local function fail(message)
  if not seen_errors[message] then
    seen_errors[message] = true
    errors[#errors + 1] = message
  end
end

-- Typst helpers -------------------------------------------------------------------------------

local function typst_string(s)
  local escaped = s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('\n', ' ')
  return '"' .. escaped .. '"'
end

local function trim(s)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- Render an already-filtered AST fragment as Typst markup (for use inside raw Typst).
local function typst_blocks(blocks)
  return trim(pandoc.write(pandoc.Pandoc(blocks), 'typst', { wrap_text = 'none' }))
end

local function typst_inlines(inlines)
  return typst_blocks({ pandoc.Plain(inlines) })
end

-- Quarto/HTML lengths ("90%", "300px", "8cm") to Typst lengths; nil when not expressible.
local function typst_length(value)
  if not value then
    return nil
  end
  local number, unit = value:match('^%s*([%d%.]+)%s*(%a*%%?)%s*$')
  if not number then
    return nil
  end
  if unit == '' or unit == 'px' then
    return string.format('%gpt', tonumber(number) * 0.75)
  end
  local known = { ['%'] = true, pt = true, cm = true, mm = true, ['in'] = true, em = true }
  if known[unit] then
    return number .. unit
  end
  return nil
end

-- Step 1: shortcodes ------------------------------------------------------------------------------

local function is_pagebreak(block)
  if block.t ~= 'Para' and block.t ~= 'Plain' then
    return false
  end
  return stringify(block):match('^%s*{{<%s*pagebreak%s*>}}%s*$') ~= nil
end

local shortcodes = {
  Para = function(para)
    if is_pagebreak(para) then
      if IS_TYPST then
        return pandoc.RawBlock('typst', '#pagebreak(weak: true)')
      end
      return {} -- nothing in HTML, as requested for the web version
    end
  end,
}

-- Run after `shortcodes`, so that only unknown shortcodes are left.
local function check_leftover_shortcode(block)
  local text = stringify(block)
  local shortcode = text:match('{{<.->}}') or text:match('{{<.*')
  if shortcode then
    fail('shortcode Quarto non pris en charge sans Quarto : « ' .. shortcode .. ' ». Seul '
      .. '{{< pagebreak >}}, seul sur sa ligne, est reconnu : retirez ce shortcode ou '
      .. 'remplacez-le par sa valeur.')
  end
end

local leftover_shortcodes = {
  Para = check_leftover_shortcode,
  Plain = check_leftover_shortcode,
  Header = check_leftover_shortcode,
}

-- Step 2: callouts and key figures (structure only, format specifics come last) -------------------

local function callout_kind(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match('^callout%-(%a+)$')
    if kind and CALLOUT_TITLES[kind] then
      return kind
    end
  end
  return nil
end

local function parse_markdown_inlines(text)
  local blocks = pandoc.read(text, 'markdown').blocks
  if #blocks > 0 and blocks[1].content then
    return blocks[1].content
  end
  return pandoc.Inlines({ pandoc.Str(text) })
end

local function build_callout(div, kind)
  local blocks = div.content
  local title
  if div.attributes.title then
    title = parse_markdown_inlines(div.attributes.title)
  elseif #blocks > 0 and blocks[1].t == 'Header' then
    title = blocks[1].content
    blocks = blocks:clone()
    blocks:remove(1)
  else
    title = pandoc.Inlines({ pandoc.Str(CALLOUT_TITLES[kind]) })
  end
  local classes = { 'callout', 'callout-' .. kind }
  return pandoc.Div({
    pandoc.Div({ pandoc.Plain(title) }, pandoc.Attr('', { 'callout-title' })),
    pandoc.Div(blocks, pandoc.Attr('', { 'callout-body' })),
  }, pandoc.Attr(div.identifier, classes, { role = 'note' }))
end

-- "- **1 234** personnes distinctes" -> value inlines, label inlines
local function split_key_figure(item)
  local first = item[1]
  if not first or (first.t ~= 'Plain' and first.t ~= 'Para') then
    return nil
  end
  local inlines = first.content
  if #inlines == 0 or inlines[1].t ~= 'Strong' then
    return nil
  end
  local label = pandoc.Inlines({})
  for i = 2, #inlines do
    label:insert(inlines[i])
  end
  while #label > 0 and (label[1].t == 'Space' or label[1].t == 'SoftBreak') do
    label:remove(1)
  end
  return inlines[1].content, label
end

local function build_key_figures(div)
  local cards = {}
  for _, block in ipairs(div.content) do
    if block.t == 'BulletList' or block.t == 'OrderedList' then
      for _, item in ipairs(block.content) do
        local value, label = split_key_figure(item)
        if value then
          cards[#cards + 1] = pandoc.Div({
            pandoc.Plain({
              pandoc.Span(value, pandoc.Attr('', { 'kf-value' })),
              pandoc.Space(),
              pandoc.Span(label, pandoc.Attr('', { 'kf-label' })),
            }),
          }, pandoc.Attr('', { 'key-figure' }))
        else
          cards[#cards + 1] = pandoc.Div(item, pandoc.Attr('', { 'key-figure' }))
        end
      end
    else
      cards[#cards + 1] = block
    end
  end
  return pandoc.Div(cards, pandoc.Attr(div.identifier, { 'key-figures' }))
end

local structure = {
  Div = function(div)
    local kind = callout_kind(div)
    if kind then
      return build_callout(div, kind)
    end
    if div.classes:includes('key-figures') then
      return build_key_figures(div)
    end
  end,
}

-- Step 3: numbering (figures, tables, sections), in document order -------------------------------

local targets = {} -- identifier -> { kind = 'fig'|'tbl'|'sec', number = '1', title = Inlines }

local function collect_targets(doc)
  local numbered_sections = doc.meta['number-sections'] == true
  local counts = { fig = 0, tbl = 0 }
  local levels = {}
  doc:walk({
    traverse = 'topdown',
    Figure = function(fig)
      if fig.identifier:match('^fig%-') then
        counts.fig = counts.fig + 1
        targets[fig.identifier] = { kind = 'fig', number = tostring(counts.fig) }
      end
    end,
    Table = function(tbl)
      if tbl.identifier:match('^tbl%-') then
        if #tbl.caption.long == 0 then
          fail('le tableau {#' .. tbl.identifier .. '} n\'a pas de légende : ajoutez une ligne '
            .. '« : Légende {#' .. tbl.identifier .. '} » sous le tableau.')
        end
        counts.tbl = counts.tbl + 1
        targets[tbl.identifier] = { kind = 'tbl', number = tostring(counts.tbl) }
      end
    end,
    Header = function(hdr)
      local number = nil
      if numbered_sections and not hdr.classes:includes('unnumbered') then
        levels[hdr.level] = (levels[hdr.level] or 0) + 1
        for deeper = hdr.level + 1, #levels do
          levels[deeper] = nil
        end
        local parts = {}
        for level = 1, hdr.level do
          parts[level] = tostring(levels[level] or 0)
        end
        number = table.concat(parts, '.')
      end
      if hdr.identifier:match('^sec%-') then
        targets[hdr.identifier] = { kind = 'sec', number = number, title = hdr.content }
      end
    end,
  })
end

-- Right-align columns whose body cells are all numbers ("1 234", "12,5 %", "−3").
local function is_number(text)
  local s = text:gsub(NBSP, ' '):gsub(NNBSP, ' '):gsub('\u{2212}', '-')
  s = trim(s)
  if s == '' or s == '-' or s == '\u{2013}' or s == '\u{2014}' then
    return nil -- empty or placeholder: neutral
  end
  return s:match('^[%+%-]?[%d%s%.,]*%d[%d%s%.,]*%s*%%?$') ~= nil
end

-- Numeric columns right-aligned, other unaligned columns left-aligned (Typst would otherwise
-- centre them inside pandoc's centred table). Relative widths are dropped: pandoc derives them
-- from the lengths of the `|---|` separators of generated pipe tables, which are arbitrary,
-- and they squeeze unbreakable content (codes, file names); columns size to their content.
local function tidy_table(tbl)
  for col, spec in ipairs(tbl.colspecs) do
    local alignment = spec[1]
    if alignment == 'AlignDefault' then
      local seen, numeric = false, true
      for _, body in ipairs(tbl.bodies) do
        for _, row in ipairs(body.body) do
          local cell = row.cells[col]
          if cell then
            local verdict = is_number(stringify(cell.contents))
            if verdict == false then
              numeric = false
            elseif verdict then
              seen = true
            end
          end
        end
      end
      alignment = (seen and numeric) and pandoc.AlignRight or pandoc.AlignLeft
    end
    tbl.colspecs[col] = { alignment, pandoc.ColWidthDefault }
  end
  return tbl
end

-- Step 4: cross-references -----------------------------------------------------------------------

local function crossref_kind(id)
  local prefix = id:match('^(%a%a%a)%-')
  if prefix and KINDS[prefix:lower()] then
    return prefix:lower()
  end
  return nil
end

local function reference(citation, sentence_start)
  local id = citation.id
  local key = id:sub(1, 1):lower() .. id:sub(2)
  local kind = crossref_kind(id)
  local target = targets[key]
  if not target then
    fail('référence croisée introuvable : @' .. id .. '. Vérifiez que l\'identifiant {#' .. key
      .. '} existe (figure, tableau ou titre de section) et qu\'il est bien orthographié.')
    return pandoc.Inlines({ pandoc.Str('?@' .. id) })
  end
  local capital = sentence_start or id:sub(1, 1):match('%u') ~= nil
  local word = capital and KINDS[kind].upper or KINDS[kind].lower
  local number_only = citation.mode == 'SuppressAuthor'
  if kind == 'sec' and not target.number then
    -- Unnumbered sections are referred to by their title.
    if IS_TYPST then
      return pandoc.Inlines({
        pandoc.RawInline('typst', '#link(<' .. key .. '>)[' .. typst_inlines(target.title) .. '];'),
      })
    end
    return pandoc.Inlines({ pandoc.Link(target.title, '#' .. key) })
  end
  if IS_TYPST then
    local supplement = number_only and 'none' or ('[' .. word .. ']')
    return pandoc.Inlines({
      pandoc.RawInline('typst', '#ref(<' .. key .. '>, supplement: ' .. supplement .. ');'),
    })
  end
  local text = number_only and { pandoc.Str(target.number) }
    or { pandoc.Str(word), pandoc.Space(), pandoc.Str(target.number) }
  return pandoc.Inlines({ pandoc.Link(text, '#' .. key) })
end

-- Abbreviations after which a full stop does not end the sentence.
local ABBREVIATIONS = { ['cf.'] = true, ['p.'] = true, ['ex.'] = true, ['p.ex.'] = true,
  ['voir.'] = true, ['vol.'] = true, ['chap.'] = true, ['sect.'] = true, ['fig.'] = true }

-- "@fig-x montre..." at the start of a sentence reads "Figure 1 montre...", as in Quarto; within
-- a sentence the reference stays lower case ("voir la figure 1").
local function starts_sentence(inlines, i)
  local j = i - 1
  while j >= 1 and (inlines[j].t == 'Space' or inlines[j].t == 'SoftBreak') do
    j = j - 1
  end
  if j < 1 or inlines[j].t == 'LineBreak' then
    return true
  end
  if inlines[j].t ~= 'Str' then
    return false
  end
  local text = inlines[j].text
  local word = text:lower():gsub('^[%(%[\"\u{00AB}\u{201C}]+', '')
  if ABBREVIATIONS[word] then
    return false
  end
  return text:match('[%.!?]$') ~= nil or text:match('\u{2026}$') ~= nil
end

local function resolve_cite(cite, sentence_start)
  if not crossref_kind(cite.citations[1].id) then
    -- Not a cross-reference (there is no bibliography): keep the literal text.
    return pandoc.Inlines({ pandoc.Str(stringify(cite.content)) })
  end
  local out = pandoc.Inlines({})
  for i, citation in ipairs(cite.citations) do
    if i > 1 then
      out:insert(pandoc.Str(i == #cite.citations and ' et' or ','))
      out:insert(pandoc.Space())
    end
    if #citation.prefix > 0 then
      out:extend(citation.prefix)
      out:insert(pandoc.Space())
    end
    out:extend(reference(citation, i == 1 and #citation.prefix == 0 and sentence_start))
    if #citation.suffix > 0 then
      out:extend(citation.suffix)
    end
  end
  return out
end

local crossrefs = {
  Inlines = function(inlines)
    local out = pandoc.Inlines({})
    for i, inline in ipairs(inlines) do
      if inline.t == 'Cite' then
        out:extend(resolve_cite(inline, starts_sentence(inlines, i)))
      else
        out:insert(inline)
      end
    end
    return out
  end,
}

-- Step 5a: HTML output ---------------------------------------------------------------------------

local function caption_label(word, number)
  return pandoc.Span(
    { pandoc.Str(word), pandoc.Space(), pandoc.Str(number .. NBSP .. ':') },
    pandoc.Attr('', { 'caption-label' })
  )
end

local function prefix_caption(caption, word, number)
  local label = { caption_label(word, number), pandoc.Space() }
  if #caption.long == 0 then
    caption.long = { pandoc.Plain({ caption_label(word, number) }) }
  elseif caption.long[1].content then
    local inlines = pandoc.Inlines(label)
    inlines:extend(caption.long[1].content)
    caption.long[1].content = inlines
  end
  return caption
end

local html = {
  Image = function(img)
    local alt = img.attributes['fig-alt']
    if alt then
      img.caption = pandoc.Inlines({ pandoc.Str(alt) })
      img.attributes['fig-alt'] = nil
    end
    return img
  end,
  Figure = function(fig)
    local target = targets[fig.identifier]
    if target then
      fig.caption = prefix_caption(fig.caption, 'Figure', target.number)
    end
    return fig
  end,
  Table = function(tbl)
    local target = targets[tbl.identifier]
    if target then
      tbl.caption = prefix_caption(tbl.caption, 'Tableau', target.number)
    end
    return tbl
  end,
}

-- Step 5b: Typst output ---------------------------------------------------------------------------

local function single_image(fig)
  if #fig.content ~= 1 then
    return nil
  end
  local block = fig.content[1]
  if (block.t == 'Plain' or block.t == 'Para') and #block.content == 1
    and block.content[1].t == 'Image' then
    return block.content[1]
  end
  return nil
end

local typst = {
  Figure = function(fig)
    local img = single_image(fig)
    if not img then
      return nil -- let pandoc's writer handle unusual figures
    end
    local args = { typst_string(img.src) }
    local width = typst_length(img.attributes.width)
    local height = typst_length(img.attributes.height)
    if width then
      args[#args + 1] = 'width: ' .. width
    end
    if height then
      args[#args + 1] = 'height: ' .. height
    end
    local alt = img.attributes['fig-alt'] or stringify(img.caption)
    if alt ~= '' then
      args[#args + 1] = 'alt: ' .. typst_string(alt)
    end
    local parts = {
      'image(' .. table.concat(args, ', ') .. ')',
      'caption: [' .. typst_blocks(fig.caption.long) .. ']',
      'kind: image',
      'supplement: [Figure]',
    }
    local label = ''
    if targets[fig.identifier] then
      label = ' <' .. fig.identifier .. '>'
    else
      parts[#parts + 1] = 'numbering: none'
    end
    return pandoc.RawBlock('typst', '#figure(' .. table.concat(parts, ', ') .. ')' .. label)
  end,
  Table = function(tbl)
    if #tbl.caption.long > 0 and not targets[tbl.identifier] then
      -- Captioned but unlabelled: shown with its caption, not numbered (as in Quarto).
      return {
        pandoc.RawBlock('typst', '#[#set figure(numbering: none)'),
        tbl,
        pandoc.RawBlock('typst', ']'),
      }
    end
  end,
  Div = function(div)
    if div.classes:includes('callout') then
      local kind = div.classes[2]:gsub('^callout%-', '')
      local title = typst_blocks(div.content[1].content)
      local out = pandoc.Blocks({
        pandoc.RawBlock('typst', '#callout(kind: "' .. kind .. '", title: [' .. title .. '])['),
      })
      out:extend(div.content[2].content)
      out:insert(pandoc.RawBlock('typst', ']'))
      return out
    end
    if div.classes:includes('key-figures') then
      local cards = {}
      for _, card in ipairs(div.content) do
        local plain = card.t == 'Div' and card.content[1]
        local spans = plain and plain.t == 'Plain' and plain.content
        if spans and #spans == 3 and spans[1].t == 'Span' then
          cards[#cards + 1] = '([' .. typst_inlines(spans[1].content) .. '], ['
            .. typst_inlines(spans[3].content) .. '])'
        else
          local content = card.t == 'Div' and card.content or { card }
          cards[#cards + 1] = '([], [' .. typst_blocks(content) .. '])'
        end
      end
      return pandoc.RawBlock('typst', '#key-figures(' .. table.concat(cards, ', ') .. ')')
    end
  end,
}

-- Driver ------------------------------------------------------------------------------------------

function Pandoc(doc)
  doc = doc:walk(shortcodes)
  doc:walk(leftover_shortcodes)
  doc = doc:walk(structure)
  collect_targets(doc)
  doc = doc:walk({ Table = tidy_table })
  doc = doc:walk(crossrefs)
  doc = doc:walk(IS_TYPST and typst or html)
  if #errors > 0 then
    error(ERROR_TAG .. table.concat(errors, ' ; '), 0)
  end
  return doc
end
